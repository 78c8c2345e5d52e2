-- Symphony Messenger: bridges from legacy queue tables, so a cron-driven workload
-- (the seed's public.email_queue, or any table of yours) moves to Symphony one
-- rollout percentage at a time, and back, without the two systems ever both
-- handling a row.
--
-- How a bridge works:
--   * On INSERT into the source table, symphony.rollout(flag, subject) decides the
--     row's owner once, and writes it into the row's owner column (handled_by by
--     default): 'symphony' rows also become a message; 'legacy' rows are left for
--     the old cron code, which must skip rows whose owner is 'symphony'.
--   * When Symphony finishes a bridged message, the result is written back to the
--     source row (status, sent_at, provider id, error).
--   * Turning the flag off hands every bridged message Symphony has not started
--     back to legacy, in the same transaction: message cancelled (by
--     'rollback:<flag>'), owner column 'legacy'. Messages in flight finish and
--     write back. Raising the percentage only routes new rows.
--   * symphony.bridge_rows records every routed row with both systems' outcomes;
--     symphony.migration_compare compares them per flag and system.

create table symphony.bridges (
  name               text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  source             regclass not null unique,
  flag               text not null references symphony.flags (name),
  kind               text not null references symphony.kinds (kind),
  payload_map        jsonb not null check (jsonb_typeof(payload_map) = 'object'),
  id_column          text not null,
  subject_column     text not null,
  owner_column       text not null,
  status_column      text,
  pending_value      text,
  sent_value         text,
  failed_value       text,
  sent_at_column     text,
  provider_id_column text,
  error_column       text,
  created_at         timestamptz not null default now()
);
comment on table symphony.bridges is
  'Legacy tables bridged to Symphony. Install with symphony.install_bridge(); remove with symphony.uninstall_bridge().';

create table symphony.bridge_rows (
  bridge          text not null references symphony.bridges (name) on delete cascade,
  source_id       text not null,
  subject         text,
  routed_to       text not null check (routed_to in ('legacy', 'symphony')),  -- the decision at insert, never changed
  owner           text not null check (owner in ('legacy', 'symphony')),      -- who handles it now
  message_id      bigint,
  created_at      timestamptz not null default now(),
  handed_back_at  timestamptz,
  finished_at     timestamptz,
  outcome         text check (outcome in ('succeeded', 'failed')),
  primary key (bridge, source_id)
);
create index bridge_rows_message_idx on symphony.bridge_rows (message_id) where message_id is not null;
create index bridge_rows_pending_symphony_idx on symphony.bridge_rows (bridge)
  where owner = 'symphony' and finished_at is null;
comment on table symphony.bridge_rows is
  'Every bridged row: the routing decision, who handles it now, and how it ended. Feeds symphony.migration_compare.';

-- _bridge_column checks that a column exists on a table, for clear install errors.
create function symphony._bridge_column(source regclass, col text, what text) returns text
language plpgsql stable set search_path = '' as $$
begin
  if col is null then
    return null;
  end if;
  if not exists (select 1 from pg_catalog.pg_attribute
                  where attrelid = source and attname = col and attnum > 0 and not attisdropped) then
    raise exception using errcode = '42703',
      message = format('symphony: %s column "%s" does not exist on %s', what, col, source);
  end if;
  return col;
end $$;

-- install_bridge bridges source to Symphony under flag, dispatching kind with a
-- payload built from the row: payload_map maps each payload field to a source
-- column name, or to {"const": value} for a fixed value. options (all optional):
--   id_column (default 'id'), subject_column (what rollout hashes; default the id),
--   owner_column (default 'handled_by'; added as a text column if missing),
--   status_column, pending_value (only rows inserted with this status are routed;
--   default 'pending' when status_column is set), sent_value ('sent'),
--   failed_value ('failed'), sent_at_column, provider_id_column, error_column.
create function symphony.install_bridge(name text, source regclass, flag text, kind text,
  payload_map jsonb, options jsonb default '{}')
returns text language plpgsql set search_path = '' as $$
declare
  allowed constant text[] := array['id_column', 'subject_column', 'owner_column', 'status_column',
    'pending_value', 'sent_value', 'failed_value', 'sent_at_column', 'provider_id_column', 'error_column'];
  bad text;
  f record;
  b symphony.bridges;
begin
  options := coalesce(options, '{}');
  select key into bad from jsonb_object_keys(options) as key where key <> all (allowed) limit 1;
  if bad is not null then
    raise exception using errcode = '22023',
      message = format('symphony: unknown bridge option %L (options: %s)', bad, array_to_string(allowed, ', '));
  end if;
  if not exists (select 1 from symphony.flags where flags.name = install_bridge.flag) then
    raise exception using errcode = '22023', message = format('symphony: unknown flag %L', flag),
      hint = 'Flags are rows of symphony.flags.';
  end if;
  if not exists (select 1 from symphony.kinds where kinds.kind = install_bridge.kind) then
    raise exception using errcode = '22023', message = format('symphony: unknown message kind %L', kind);
  end if;
  if jsonb_typeof(payload_map) is distinct from 'object' or payload_map = '{}' then
    raise exception using errcode = '22023',
      message = 'symphony: payload_map must map payload fields to source columns, e.g. {"to": "recipient", "from": {"const": "hi@acme.test"}}';
  end if;
  for f in select * from jsonb_each(payload_map) loop
    if jsonb_typeof(f.value) = 'string' then
      perform symphony._bridge_column(source, f.value #>> '{}', format('payload field %I:', f.key));
    elsif not (jsonb_typeof(f.value) = 'object' and f.value ? 'const') then
      raise exception using errcode = '22023',
        message = format('symphony: payload field %I must map to a column name or {"const": value}', f.key);
    end if;
  end loop;

  b.name := name;
  b.source := source;
  b.flag := flag;
  b.kind := kind;
  b.payload_map := payload_map;
  b.id_column := symphony._bridge_column(source, coalesce(options ->> 'id_column', 'id'), 'id');
  b.subject_column := symphony._bridge_column(source, coalesce(options ->> 'subject_column', b.id_column), 'subject');
  b.owner_column := coalesce(options ->> 'owner_column', 'handled_by');
  b.status_column := symphony._bridge_column(source, options ->> 'status_column', 'status');
  b.pending_value := case when b.status_column is not null then coalesce(options ->> 'pending_value', 'pending') end;
  b.sent_value := coalesce(options ->> 'sent_value', 'sent');
  b.failed_value := coalesce(options ->> 'failed_value', 'failed');
  b.sent_at_column := symphony._bridge_column(source, options ->> 'sent_at_column', 'sent_at');
  b.provider_id_column := symphony._bridge_column(source, options ->> 'provider_id_column', 'provider id');
  b.error_column := symphony._bridge_column(source, options ->> 'error_column', 'error');
  b.created_at := now();

  -- The owner column is the legacy code's whole check: it handles a row only
  -- when the owner is not 'symphony'. Rows from before the bridge stay null (legacy).
  execute format('alter table %s add column if not exists %I text', source, b.owner_column);
  perform symphony._bridge_column(source, b.owner_column, 'owner');

  insert into symphony.bridges values (b.*);
  execute format('create trigger symphony_bridge_route before insert on %s for each row execute function symphony.bridge_route(%L)',
                 source, name);
  if b.status_column is not null then
    execute format('create trigger symphony_bridge_observe after update of %I on %s for each row execute function symphony.bridge_observe(%L)',
                   b.status_column, source, name);
  end if;
  return format('bridge %s: rows inserted into %s are routed by flag %s; the legacy code must skip rows where %I = ''symphony''',
                name, source, flag, b.owner_column);
end $$;

create function symphony.uninstall_bridge(name text) returns void
language plpgsql set search_path = '' as $$
declare
  b symphony.bridges;
begin
  select * into b from symphony.bridges where bridges.name = uninstall_bridge.name;
  if not found then
    raise exception using errcode = '22023', message = format('symphony: no bridge named %L', name);
  end if;
  if exists (select 1 from symphony.bridge_rows r where r.bridge = b.name and r.owner = 'symphony' and r.finished_at is null) then
    raise exception using errcode = '55000',
      message = format('symphony: bridge %s still has rows Symphony is handling; turn flag %s off and let them finish first', b.name, b.flag);
  end if;
  execute format('drop trigger if exists symphony_bridge_route on %s', b.source);
  execute format('drop trigger if exists symphony_bridge_observe on %s', b.source);
  delete from symphony.bridges where bridges.name = b.name;
end $$;

-- bridge_route decides a new source row's owner. SECURITY DEFINER: whoever may
-- insert into the source table (the app, perhaps through RLS) may not touch the
-- symphony schema, yet its rows must become messages. It runs only as a trigger.
create function symphony.bridge_route() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  rec jsonb := to_jsonb(new);
  source_id text;
  subj text;
  payload jsonb := '{}';
  f record;
  mid bigint;
  routed text := 'legacy';
begin
  select * into b from symphony.bridges where name = tg_argv[0];
  if not found or (b.status_column is not null and rec ->> b.status_column is distinct from b.pending_value) then
    return new;  -- not a row to send (a draft, an already-sent import)
  end if;
  source_id := rec ->> b.id_column;
  subj := rec ->> b.subject_column;
  if source_id is null then
    raise exception using errcode = '23502',
      message = format('symphony: bridge %s needs %I to be set when the row is inserted (a default works)', b.name, b.id_column);
  end if;
  if symphony.rollout(b.flag, subj) then
    for f in select * from jsonb_each(b.payload_map) loop
      payload := payload || jsonb_build_object(f.key,
        case when jsonb_typeof(f.value) = 'object' then f.value -> 'const' else rec -> (f.value #>> '{}') end);
    end loop;
    begin
      insert into symphony.messages (kind, payload, subject, dedupe_key, meta)
      values (b.kind, jsonb_strip_nulls(payload), subj, format('bridge:%s:%s', b.name, source_id),
              jsonb_build_object('bridge', b.name, 'source_id', source_id))
      returning id into mid;
      routed := 'symphony';
    exception when sqlstate '22023' or sqlstate '54000' or unique_violation then
      -- Symphony would refuse this row (a malformed address, say, or a source id
      -- reused after a delete). The legacy system handled such rows before; it
      -- still does, rather than the app's insert failing.
      raise warning 'symphony: bridge % left row % to legacy: %', b.name, source_id, sqlerrm;
    end;
  end if;
  insert into symphony.bridge_rows (bridge, source_id, subject, routed_to, owner, message_id)
  values (b.name, source_id, subj, routed, routed, mid)
  on conflict on constraint bridge_rows_pkey do update
     set subject = excluded.subject, routed_to = excluded.routed_to, owner = excluded.owner,
         message_id = excluded.message_id, created_at = now(), handed_back_at = null,
         finished_at = null, outcome = null;
  new := jsonb_populate_record(new, jsonb_build_object(b.owner_column, routed));
  return new;
end $$;

-- bridge_observe records the legacy system's outcome when it updates the status
-- of a row it owns, so both systems can be compared.
create function symphony.bridge_observe() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  rec jsonb := to_jsonb(new);
  st text;
begin
  select * into b from symphony.bridges where name = tg_argv[0];
  st := rec ->> b.status_column;
  if st is distinct from to_jsonb(old) ->> b.status_column and st in (b.sent_value, b.failed_value) then
    update symphony.bridge_rows
       set finished_at = now(), outcome = case when st = b.sent_value then 'succeeded' else 'failed' end
     where bridge = b.name and source_id = rec ->> b.id_column and owner = 'legacy' and finished_at is null;
  end if;
  return null;
end $$;

-- bridge_write_back copies a finished bridged message's result to its source row.
-- SECURITY DEFINER so the sidecar's completion, whatever its role, can update the
-- source table. Fires only for bridged messages (see the trigger's WHEN).
create function symphony.bridge_write_back() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  r symphony.bridge_rows;
  sets text[] := '{}';
  ok boolean := new.state = 'succeeded';
begin
  select * into r from symphony.bridge_rows
   where bridge = new.meta ->> 'bridge' and source_id = new.meta ->> 'source_id';
  if not found or r.owner <> 'symphony' or r.message_id is distinct from new.id then
    return null;  -- handed back to legacy (a rollback cancelled it): legacy writes its own result
  end if;
  select * into b from symphony.bridges where name = r.bridge;
  update symphony.bridge_rows
     set finished_at = now(), outcome = case when ok then 'succeeded' else 'failed' end
   where bridge = r.bridge and source_id = r.source_id;
  if b.status_column is not null then
    sets := sets || format('%I = %L', b.status_column, case when ok then b.sent_value else b.failed_value end);
  end if;
  if b.sent_at_column is not null and ok then
    sets := sets || format('%I = %L', b.sent_at_column, new.finished_at);
  end if;
  if b.provider_id_column is not null and ok then
    sets := sets || format('%I = %L', b.provider_id_column, new.result ->> 'provider_message_id');
  end if;
  if b.error_column is not null then
    sets := sets || format('%I = %L', b.error_column,
      case when ok then null when new.state = 'cancelled' then 'cancelled by ' || new.cancelled_by else new.last_error end);
  end if;
  if cardinality(sets) > 0 then
    execute format('update %s set %s where %I::text = $1', b.source, array_to_string(sets, ', '), b.id_column)
      using r.source_id;
  end if;
  return null;
end $$;

create trigger messages_bridge_write_back after update of state on symphony.messages
  for each row
  when (new.meta ? 'bridge' and new.state in ('succeeded', 'dead', 'cancelled') and old.state is distinct from new.state)
  execute function symphony.bridge_write_back();

-- bridge_hand_back gives legacy back every bridged message of flag that Symphony
-- has not started (pending, never attempted), atomically: the message is
-- cancelled by 'rollback:<flag>' and the source row's owner becomes 'legacy'.
-- A claim racing with it either wins (the message is in flight and finishes with
-- Symphony) or loses (the row is legacy's); never both. Returns how many.
create function symphony.bridge_hand_back(flag text) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  ids text[];
  total integer := 0;
begin
  for b in select * from symphony.bridges where bridges.flag = bridge_hand_back.flag loop
    with handed as (
      update symphony.messages m
         set state = 'cancelled', cancelled_by = 'rollback:' || b.flag, finished_at = now()
        from symphony.bridge_rows r
       where r.bridge = b.name and r.owner = 'symphony' and r.finished_at is null
         and m.id = r.message_id and m.state = 'pending' and m.attempts = 0
      returning r.source_id
    ), moved as (
      update symphony.bridge_rows r
         set owner = 'legacy', handed_back_at = now()
        from handed h
       where r.bridge = b.name and r.source_id = h.source_id
      returning r.source_id
    )
    select array_agg(source_id) into ids from moved;
    if ids is not null then
      execute format('update %s set %I = ''legacy'' where %I::text = any($1)', b.source, b.owner_column, b.id_column)
        using ids;
      total := total + cardinality(ids);
    end if;
  end loop;
  return total;
end $$;

-- Turning a flag off is the rollback: hand its unstarted rows back at once.
create function symphony.flags_hand_back() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  n integer;
begin
  n := symphony.bridge_hand_back(new.name);
  if n > 0 then
    raise notice 'symphony: flag % off: % unstarted rows handed back to the legacy system', new.name, n;
  end if;
  return null;
end $$;

create trigger flags_hand_back after update of enabled on symphony.flags
  for each row when (old.enabled and not new.enabled)
  execute function symphony.flags_hand_back();

-- bridge_owner answers the legacy code's question, "is this row mine?", for
-- code that cannot read the owner column: 'symphony', 'legacy', or null for a
-- row the bridge never routed (from before it, or not pending): legacy's.
create function symphony.bridge_owner(bridge text, source_id text) returns text
language sql stable set search_path = '' as $$
  select owner from symphony.bridge_rows r where r.bridge = bridge_owner.bridge and r.source_id = bridge_owner.source_id
$$;

-- Compare both systems per flag: "monitor both systems, compare results" in one query.
create view symphony.migration_compare as
select b.flag,
       r.bridge,
       r.owner as system,
       count(*) as rows,
       count(*) filter (where r.outcome = 'succeeded') as succeeded,
       count(*) filter (where r.outcome = 'failed') as failed,
       count(*) filter (where r.finished_at is null) as in_progress,
       count(*) filter (where r.handed_back_at is not null) as handed_back,
       round(100.0 * count(*) filter (where r.outcome = 'succeeded')
             / nullif(count(*) filter (where r.finished_at is not null), 0), 2) as success_rate_pct,
       round((percentile_cont(0.5) within group (order by extract(epoch from r.finished_at - r.created_at)))::numeric, 3) as p50_latency_s,
       round((percentile_cont(0.95) within group (order by extract(epoch from r.finished_at - r.created_at)))::numeric, 3) as p95_latency_s,
       max(r.created_at) as last_row_at
  from symphony.bridge_rows r
  join symphony.bridges b on b.name = r.bridge
 group by b.flag, r.bridge, r.owner;
comment on view symphony.migration_compare is
  'Per flag, bridge and system (legacy or symphony): rows handled, successes, failures, in progress, handed back, success rate and latency (insert to finish).';

revoke all on all tables in schema symphony from public;
revoke all on all functions in schema symphony from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on all tables in schema symphony from anon;
    revoke all on all functions in schema symphony from anon;
  end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on all tables in schema symphony from authenticated;
    revoke all on all functions in schema symphony from authenticated;
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.bridges, symphony.bridge_rows, symphony.migration_compare to service_role;
    grant execute on function symphony.bridge_owner(text, text) to service_role;
  end if;
end $$;
