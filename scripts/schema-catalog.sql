-- A normalized, deterministic description of what the migrations create in one database:
-- every line is "<section> <object> <fact>", sorted, with no OIDs, no creation order and no
-- times, so two databases built by different migration files can be compared with diff.
-- Run by scripts/schema-catalog.sh (read its header); psql variable with_cron is on or off.
--
-- Covered: schemas, extensions, tables, views, sequences, indexes and composite types with
-- their persistence, options, row security and owners; columns (logical order, type,
-- nullability, default, identity, collation); constraints; functions (the full
-- pg_get_functiondef text plus kind, volatility, parallel safety, security, settings);
-- triggers; view definitions; sequence parameters and state; policies; publications;
-- comments; privileges (effective: an unset ACL is spelled out as its default, so "never
-- granted" and "owner-only after a revoke" compare equal, as they are equal); default
-- privileges; the rows of small tables (seed data) without time and uuid columns; and,
-- with with_cron on, pg_cron's jobs (name, schedule, command, database, user, active).
-- Objects that belong to an extension are left out (they come with the extension).

\set QUIET on
\set ON_ERROR_STOP 1
\pset tuples_only on
\pset format unaligned
set client_min_messages = warning;
set search_path = '';

-- Schemas that are the system's, the Supabase CLI's bookkeeping or pg_cron's own.
create temporary view scope_ns as
select n.oid, n.nspname
  from pg_catalog.pg_namespace n
 where n.nspname not in ('pg_catalog', 'information_schema', 'cron', 'supabase_migrations')
   and n.nspname !~ '^pg_(toast|temp_)'
   and n.oid <> pg_catalog.pg_my_temp_schema();

-- Objects an extension owns: left out wherever they could appear.
create temporary view ext_member as
select d.classid, d.objid from pg_catalog.pg_depend d where d.deptype = 'e';

-- acl spells out an ACL with its default filled in: "grantee:privilege:grantor[*]" items.
create function pg_temp.acl(a aclitem[], kind "char", owner oid) returns text
language sql stable as $$
  select coalesce(string_agg(
           format('%s:%s:%s%s',
                  case when x.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(x.grantee) end,
                  x.privilege_type, pg_catalog.pg_get_userbyid(x.grantor),
                  case when x.is_grantable then '*' else '' end),
           ' ' order by 1), '-')
    from pg_catalog.aclexplode(coalesce(a, pg_catalog.acldefault(kind, owner))) x
$$;

-- lines numbers and prefixes every line of a multi-line text, so diff shows the line that
-- differs and sorting keeps the lines in order.
create function pg_temp.lines(prefix text, body text) returns setof text
language sql immutable as $$
  select format('%s | %s | %s', prefix, pg_catalog.lpad(n::text, 4, '0'), l)
    from pg_catalog.regexp_split_to_table(body, E'\n') with ordinality as t(l, n)
$$;

create temporary table catalog_line (line text not null);

insert into catalog_line
-- schemas
select format('schema %s owner=%s acl=%s', n.nspname, pg_catalog.pg_get_userbyid(n.nspowner),
              pg_temp.acl(n.nspacl, 'n', n.nspowner))
  from pg_catalog.pg_namespace n join scope_ns s on s.oid = n.oid
union all
-- extensions (pg_cron only with with_cron: a database without it is a supported setup)
select format('extension %s version=%s schema=%s', e.extname, e.extversion, n.nspname)
  from pg_catalog.pg_extension e join pg_catalog.pg_namespace n on n.oid = e.extnamespace
 where e.extname <> 'pg_cron' or :'with_cron' = 'on'
union all
-- relations: tables, views, materialized views, sequences, indexes, composite types
select format('relation %s kind=%s persistence=%s owner=%s options=%s rls=%s force_rls=%s replica_identity=%s acl=%s',
              c.oid::pg_catalog.regclass, c.relkind, c.relpersistence, pg_catalog.pg_get_userbyid(c.relowner),
              coalesce(c.reloptions::text, '-'), c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
              case when c.relkind in ('i', 'I') then '-'  -- indexes have no privileges
                   else pg_temp.acl(c.relacl, (case when c.relkind = 'S' then 's' else 'r' end)::"char", c.relowner) end)
  from pg_catalog.pg_class c join scope_ns s on s.oid = c.relnamespace
 where c.relkind in ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'c', 'f')
   and not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = c.oid)
union all
-- columns, in their logical order (dropped columns leave gaps in attnum; the order is what counts)
select format('column %s #%s %s type=%s not_null=%s default=%s identity=%s generated=%s collation=%s acl=%s',
              c.oid::pg_catalog.regclass,
              pg_catalog.lpad((pg_catalog.row_number() over (partition by c.oid order by a.attnum))::text, 3, '0'),
              pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
              coalesce(pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '-'),
              coalesce(nullif(a.attidentity, '')::text, '-'), coalesce(nullif(a.attgenerated, '')::text, '-'),
              case when a.attcollation <> 0 and a.attcollation <> t.typcollation
                   then a.attcollation::pg_catalog.regcollation::text else '-' end,
              pg_temp.acl(a.attacl, 'c', c.relowner))
  from pg_catalog.pg_class c join scope_ns s on s.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  join pg_catalog.pg_type t on t.oid = a.atttypid
  left join pg_catalog.pg_attrdef ad on ad.adrelid = c.oid and ad.adnum = a.attnum
 where c.relkind in ('r', 'p', 'v', 'm', 'c', 'f')
   and not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = c.oid)
union all
-- constraints of tables and of domains
select format('constraint %s %s type=%s deferrable=%s deferred=%s validated=%s %s',
              coalesce(nullif(co.conrelid, 0)::pg_catalog.regclass::text, co.contypid::pg_catalog.regtype::text),
              pg_catalog.quote_ident(co.conname), co.contype, co.condeferrable, co.condeferred, co.convalidated,
              pg_catalog.pg_get_constraintdef(co.oid))
  from pg_catalog.pg_constraint co join scope_ns s on s.oid = co.connamespace
union all
-- indexes (pg_get_indexdef names the table, the method, the columns and the predicate)
select format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
  from pg_catalog.pg_index i join pg_catalog.pg_class c on c.oid = i.indexrelid
  join scope_ns s on s.oid = c.relnamespace
 where not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = i.indrelid)
union all
-- sequences: parameters, the column that owns one, and its state
select format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s last_value=%s',
              sq.seqrelid::pg_catalog.regclass, sq.seqtypid::pg_catalog.regtype, sq.seqstart, sq.seqincrement,
              sq.seqmin, sq.seqmax, sq.seqcache, sq.seqcycle,
              coalesce((select d.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname)
                          from pg_catalog.pg_depend d
                          join pg_catalog.pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                         where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = sq.seqrelid
                           and d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.deptype in ('a', 'i')), '-'),
              coalesce(ps.last_value::text, 'unset'))
  from pg_catalog.pg_sequence sq join pg_catalog.pg_class c on c.oid = sq.seqrelid
  join scope_ns s on s.oid = c.relnamespace
  join pg_catalog.pg_sequences ps on ps.schemaname = s.nspname and ps.sequencename = c.relname
union all
-- functions and procedures: attributes, then the full definition line by line
select format('function %s kind=%s volatility=%s parallel=%s strict=%s security_definer=%s leakproof=%s cost=%s rows=%s config=%s owner=%s acl=%s',
              p.oid::pg_catalog.regprocedure, p.prokind, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
              p.proleakproof, p.procost, p.prorows, coalesce(p.proconfig::text, '-'),
              pg_catalog.pg_get_userbyid(p.proowner), pg_temp.acl(p.proacl, 'f', p.proowner))
  from pg_catalog.pg_proc p join scope_ns s on s.oid = p.pronamespace
 where not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and e.objid = p.oid)
union all
select pg_temp.lines(format('function %s', p.oid::pg_catalog.regprocedure),
                     case when p.prokind = 'a' then '(aggregate)' else pg_catalog.pg_get_functiondef(p.oid) end)
  from pg_catalog.pg_proc p join scope_ns s on s.oid = p.pronamespace
 where not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and e.objid = p.oid)
union all
-- triggers (not the internal ones behind foreign keys)
select format('trigger %s %s enabled=%s', t.tgrelid::pg_catalog.regclass, pg_catalog.pg_get_triggerdef(t.oid), t.tgenabled)
  from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid
  join scope_ns s on s.oid = c.relnamespace
 where not t.tgisinternal
union all
-- view definitions, line by line
select pg_temp.lines(format('view %s', c.oid::pg_catalog.regclass), pg_catalog.pg_get_viewdef(c.oid, true))
  from pg_catalog.pg_class c join scope_ns s on s.oid = c.relnamespace
 where c.relkind in ('v', 'm')
union all
-- standalone types: enums, domains, ranges, composite types of their own
select format('type %s typtype=%s base=%s not_null=%s default=%s labels=%s owner=%s acl=%s',
              t.oid::pg_catalog.regtype, t.typtype,
              case when t.typtype = 'd' then pg_catalog.format_type(t.typbasetype, t.typtypmod) else '-' end,
              t.typnotnull, coalesce(t.typdefault, '-'),
              coalesce((select string_agg(e.enumlabel, ',' order by e.enumsortorder)
                          from pg_catalog.pg_enum e where e.enumtypid = t.oid), '-'),
              pg_catalog.pg_get_userbyid(t.typowner), pg_temp.acl(t.typacl, 'T', t.typowner))
  from pg_catalog.pg_type t join scope_ns s on s.oid = t.typnamespace
 where t.typtype in ('e', 'd', 'r', 'm')
    or (t.typtype = 'c' and exists (select 1 from pg_catalog.pg_class c where c.oid = t.typrelid and c.relkind = 'c'))
union all
-- row-level security policies
select format('policy %s.%s %s cmd=%s permissive=%s roles=%s using=%s check=%s',
              pl.schemaname, pl.tablename, pl.policyname, pl.cmd, pl.permissive, pl.roles::text,
              coalesce(pl.qual, '-'), coalesce(pl.with_check, '-'))
  from pg_catalog.pg_policies pl join scope_ns s on s.nspname = pl.schemaname
union all
-- publications and what they publish
select format('publication %s owner=%s all_tables=%s insert=%s update=%s delete=%s truncate=%s via_root=%s',
              p.pubname, pg_catalog.pg_get_userbyid(p.pubowner), p.puballtables, p.pubinsert, p.pubupdate,
              p.pubdelete, p.pubtruncate, p.pubviaroot)
  from pg_catalog.pg_publication p
union all
select format('publication %s table %s columns=%s where=%s', p.pubname, pr.prrelid::pg_catalog.regclass,
              coalesce(pr.prattrs::text, '-'), coalesce(pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), '-'))
  from pg_catalog.pg_publication_rel pr join pg_catalog.pg_publication p on p.oid = pr.prpubid
union all
select format('publication %s schema %s', p.pubname, n.nspname)
  from pg_catalog.pg_publication_namespace pn join pg_catalog.pg_publication p on p.oid = pn.pnpubid
  join pg_catalog.pg_namespace n on n.oid = pn.pnnspid
union all
-- default privileges (ALTER DEFAULT PRIVILEGES), as set, not filled in
select format('default_privileges role=%s schema=%s objects=%s acl=%s',
              pg_catalog.pg_get_userbyid(d.defaclrole), coalesce(n.nspname, '(all)'), d.defaclobjtype,
              (select string_agg(format('%s:%s:%s%s',
                                        case when x.grantee = 0 then 'PUBLIC' else pg_catalog.pg_get_userbyid(x.grantee) end,
                                        x.privilege_type, pg_catalog.pg_get_userbyid(x.grantor),
                                        case when x.is_grantable then '*' else '' end), ' ' order by 1)
                 from pg_catalog.aclexplode(d.defaclacl) x))
  from pg_catalog.pg_default_acl d left join pg_catalog.pg_namespace n on n.oid = d.defaclnamespace
 where n.oid is null or n.nspname not in ('cron', 'supabase_migrations')
union all
-- comments on anything in scope (and on the schemas and publications themselves)
select pg_temp.lines(format('comment %s %s', o.type, o.identity), d.description)
  from pg_catalog.pg_description d
  cross join lateral pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o
 where (o.schema in (select nspname from scope_ns)
        or (o.type = 'schema' and o.identity in (select nspname from scope_ns))
        or o.type = 'publication')
   and not exists (select 1 from ext_member e where e.classid = d.classoid and e.objid = d.objoid);

-- pg_cron's jobs, when asked for and pg_cron is there (the table exists only with it),
-- without their ids, which depend on the order they were scheduled in.
select case when :'with_cron' = 'on' and pg_catalog.to_regclass('cron.job') is not null then
  $q$insert into catalog_line
     select format('cron_job %s schedule=%s command=%s database=%s user=%s active=%s',
                   j.jobname, j.schedule, j.command, j.database, j.username, j.active)
       from cron.job j$q$ end
\gexec

-- The rows of small tables: seed data (kinds, flags, queues, …). Columns of time and uuid
-- types are left out: they differ between any two databases. Large tables give a count.
-- The rollups' own state (symphony.rollup_watermarks, rollup_horizons) is left out too: it
-- is not seed data but what symphony.roll_up() writes when it runs, which pg_cron does each
-- minute where it exists, so a database with pg_cron may hold those rows moments after its
-- migrations and one without never does.
select format($q$insert into catalog_line
  select 'row %1$s ' || (pg_catalog.to_jsonb(t) - %2$L::text[])::text
    from %1$s t where (select count(*) from %1$s) <= 1000
  union all
  select 'rows %1$s count=' || count(*) from %1$s having count(*) > 1000$q$,
    c.oid::pg_catalog.regclass,
    array(select a.attname from pg_catalog.pg_attribute a
           where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
             and a.atttypid in ('pg_catalog.timestamptz'::pg_catalog.regtype, 'pg_catalog.timestamp'::pg_catalog.regtype,
                                'pg_catalog.date'::pg_catalog.regtype, 'pg_catalog.uuid'::pg_catalog.regtype)))
  from pg_catalog.pg_class c join scope_ns s on s.oid = c.relnamespace
 where c.relkind in ('r', 'p')
   and (s.nspname, c.relname) not in (('symphony', 'rollup_watermarks'), ('symphony', 'rollup_horizons'))
   and not exists (select 1 from ext_member e where e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and e.objid = c.oid)
\gexec

select line from catalog_line order by line collate "C";
