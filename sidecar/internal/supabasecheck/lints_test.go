package supabasecheck

// A lint is one of the Advisors' checks, written from what splinter's lint of that name
// looks for, over every object that is not the platform's. Each query reads the exposed
// schemas and the platform's schemas from params (params.exposed, params.platform; see
// lintQuery) and returns one row per object it flags. probe creates an object the lint
// must flag; what it flags names lint_probe, or flags when that is set.
type lint struct {
	name  string
	query string
	probe string
	flags string
}

// platformSchemas are Supabase's and PostgreSQL's own schemas, which the Advisors skip.
var platformSchemas = []string{"auth", "cron", "extensions", "graphql", "graphql_public", "information_schema",
	"net", "pgbouncer", "pgmq", "pgsodium", "pgsodium_masks", "pg_catalog", "pg_toast", "realtime", "storage",
	"supabase_functions", "supabase_migrations", "vault"}

var lints = []lint{
	{
		name: "function_search_path_mutable",
		// Any function of ours, in any schema, exposed or not.
		query: `select p.oid::regprocedure::text from params, pg_proc p
		 where p.pronamespace::regnamespace::text <> all (params.platform)
		   and p.pronamespace::regnamespace::text !~ '^pg_temp'
		   and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
		   and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c where c like 'search_path=%')`,
		probe: `create function public.lint_probe() returns int language sql as 'select 1'`,
	},
	{
		name: "security_definer_view",
		// splinter looks at exposed views anon or authenticated can read; every view of ours
		// runs as its caller, exposed or not.
		query: `select c.oid::regclass::text from params, pg_class c
		 where c.relkind = 'v' and c.relnamespace::regnamespace::text <> all (params.platform)
		   and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
		   and not (lower(coalesce(c.reloptions::text, '{}'))::text[]
		            && array['security_invoker=true', 'security_invoker=on', 'security_invoker=1', 'security_invoker=yes'])`,
		probe: `create view public.lint_probe as select 1 as x`,
	},
	{
		name: "rls_disabled_in_public",
		query: `select c.oid::regclass::text from params, pg_class c
		 where c.relkind in ('r', 'p') and not c.relrowsecurity
		   and c.relnamespace::regnamespace::text = any (params.exposed)
		   and c.relnamespace::regnamespace::text <> all (params.platform)
		   and (has_table_privilege('anon', c.oid, 'SELECT') or has_table_privilege('authenticated', c.oid, 'SELECT'))`,
		probe: `create table public.lint_probe (id int primary key)`,
	},
	{
		name: "policy_exists_rls_disabled",
		query: `select distinct c.oid::regclass::text from params, pg_class c join pg_policy p on p.polrelid = c.oid
		 where not c.relrowsecurity and c.relnamespace::regnamespace::text <> all (params.platform)`,
		probe: `create table public.lint_probe (id int primary key);
		        create policy lint_probe on public.lint_probe for select to authenticated using (true)`,
	},
	{
		name: "rls_enabled_no_policy",
		query: `select c.oid::regclass::text from params, pg_class c
		 where c.relkind in ('r', 'p') and c.relrowsecurity
		   and c.relnamespace::regnamespace::text = any (params.exposed)
		   and c.relnamespace::regnamespace::text <> all (params.platform)
		   and not exists (select 1 from pg_policy p where p.polrelid = c.oid)`,
		probe: `create table public.lint_probe (id int primary key);
		        alter table public.lint_probe enable row level security`,
	},
	{
		name: "extension_in_public",
		query: `select e.extname::text from pg_extension e
		 where e.extnamespace = 'public'::regnamespace and e.extname <> 'plpgsql'`,
		probe: `create extension citext schema public`,
		flags: "citext",
	},
	{
		name: "anon_security_definer_function_executable",
		// splinter looks at exposed schemas; here no schema of ours may have one.
		query: `select p.oid::regprocedure::text from params, pg_proc p
		 where p.prosecdef and has_function_privilege('anon', p.oid, 'EXECUTE')
		   and p.pronamespace::regnamespace::text <> all (params.platform)
		   and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
		probe: `create function public.lint_probe() returns int language sql security definer set search_path = '' as 'select 1'`,
	},
	{
		name: "authenticated_security_definer_function_executable",
		query: `select p.oid::regprocedure::text from params, pg_proc p
		 where p.prosecdef and has_function_privilege('authenticated', p.oid, 'EXECUTE')
		   and p.pronamespace::regnamespace::text <> all (params.platform)
		   and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
		probe: `create function public.lint_probe() returns int language sql security definer set search_path = '' as 'select 1';
		        revoke execute on function public.lint_probe() from anon`,
	},
	{
		name: "auth_rls_initplan",
		// A policy calling auth.uid() (or jwt, role) per row instead of once, in a sub-select.
		query: `select format('%s.%s %s', schemaname, tablename, policyname) from params, pg_policies
		 where schemaname <> all (params.platform)
		   and (coalesce(qual, '') || ' ' || coalesce(with_check, '')) ~ 'auth\.(uid|jwt|role)\(\)'
		   and (coalesce(qual, '') || ' ' || coalesce(with_check, '')) !~* 'select\s+auth\.(uid|jwt|role)\(\)'`,
		probe: `create table public.lint_probe (id int primary key, owner uuid);
		        alter table public.lint_probe enable row level security;
		        create policy lint_probe on public.lint_probe for select to authenticated using (auth.uid() = owner)`,
	},
	{
		name: "multiple_permissive_policies",
		query: `select format('%s.%s %s %s', schemaname, tablename, r, cmd) from params, pg_policies, unnest(roles) r
		 where permissive = 'PERMISSIVE' and schemaname <> all (params.platform)
		 group by schemaname, tablename, r, cmd having count(*) > 1`,
		probe: `create table public.lint_probe (id int primary key);
		        alter table public.lint_probe enable row level security;
		        create policy lint_probe_a on public.lint_probe for select to authenticated using (id > 0);
		        create policy lint_probe_b on public.lint_probe for select to authenticated using (id < 0)`,
	},
	{
		name: "duplicate_index",
		query: `select string_agg(i.indexrelid::regclass::text, ' = ' order by i.indexrelid::regclass::text)
		  from params, pg_index i join pg_class c on c.oid = i.indrelid
		 where c.relnamespace::regnamespace::text <> all (params.platform)
		 group by i.indrelid, i.indkey::text, i.indclass::text, coalesce(pg_get_expr(i.indexprs, i.indrelid), ''),
		          coalesce(pg_get_expr(i.indpred, i.indrelid), '')
		having count(*) > 1`,
		probe: `create table public.lint_probe (id int primary key, x int);
		        create index lint_probe_x1 on public.lint_probe (x);
		        create index lint_probe_x2 on public.lint_probe (x)`,
	},
	{
		name: "unindexed_foreign_keys",
		query: `select format('%s %s', ct.conrelid::regclass, ct.conname) from params, pg_constraint ct
		 where ct.contype = 'f' and ct.connamespace::regnamespace::text <> all (params.platform)
		   and not exists (select 1 from pg_index i
		                    where i.indrelid = ct.conrelid and i.indisvalid
		                      and (string_to_array(i.indkey::text, ' ')::smallint[])[1:cardinality(ct.conkey)] = ct.conkey)`,
		probe: `create table public.lint_probe (id int primary key, parent int references public.lint_probe (id))`,
	},
	{
		name: "no_primary_key",
		query: `select c.oid::regclass::text from params, pg_class c
		 where c.relkind in ('r', 'p') and c.relnamespace::regnamespace::text <> all (params.platform)
		   and c.relnamespace::regnamespace::text !~ '^pg_temp'
		   and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
		   and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary)`,
		probe: `create table public.lint_probe (id int)`,
	},
}

// lintQuery is a lint's query with its params: the exposed schemas ($1) and the
// platform's ($2).
func lintQuery(l lint) string {
	return "with params as (select $1::text[] as exposed, $2::text[] as platform) " + l.query
}
