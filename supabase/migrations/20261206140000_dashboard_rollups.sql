-- History for the dashboard's charts, kept without touching the hot path.
--
-- The dashboard draws throughput, failures and latency per queue, legacy and
-- Symphony side by side per bridge, and delivery rates per day. Reading those
-- from symphony.messages on every page would cost time in proportion to the
-- history (millions of finished rows). Instead symphony.roll_up() folds finished
-- work into small per-minute (and per-day) tables from a watermark: each minute
-- is read once, after it has closed, through the indexes on finished_at. There is
-- no trigger on messages and no per-message cost when sending; pg_cron's
-- symphony-rollup job runs it every minute, and each sidecar's metrics collector
-- calls it too (an advisory lock lets one caller work at a time), so the charts
-- keep up without pg_cron.
--
-- A minute is rolled up once it is a full minute old: a completion that commits
-- later than that (a transaction open for over a minute) is not counted.
--
-- Campaign pause, resume and cancel are audited in symphony.campaign_actions
-- with symphony.actor(), whoever does them (dashboard, CLI, Studio, SQL).

-- Latency buckets, in milliseconds: bucket i (1-based) holds values below
-- bounds[i] and from bounds[i-1] up; the last bucket holds everything from the
-- last bound up. The dashboard reads the bounds from symphony.latency_bounds().
create function symphony.latency_bounds() returns integer[]
language sql immutable parallel safe set search_path = '' as $$
  select array[10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000]
$$;
comment on function symphony.latency_bounds() is
  'Bounds (ms) of the latency histogram buckets in message_minutes and bridge_minutes: bucket i holds values below bound i; one more bucket holds the rest.';

-- _histogram_sql is the select-list expression that counts the column of
-- latencies d (an interval) into the buckets: one count(*) FILTER per bucket,
-- built-in aggregates only, so a roll-up of many rows stays cheap.
create function symphony._histogram_sql(d text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select 'array[' || string_agg(format('count(*) filter (where width_bucket(extract(epoch from %s) * 1000, %L::float8[]) = %s)::int',
                                       d, symphony.latency_bounds()::float8[], i - 1), ', ' order by i) || ']'
    from generate_series(1, array_length(symphony.latency_bounds(), 1) + 1) i
$$;

-- _hist_merge adds two histograms element by element.
create function symphony._hist_merge(a integer[], b integer[]) returns integer[]
language sql immutable parallel safe set search_path = '' as $$
  select array_agg(coalesce(x, 0) + coalesce(y, 0) order by i)
    from unnest(a, b) with ordinality as u(x, y, i)
$$;

create table symphony.rollup_watermarks (
  name     text primary key,
  upto     timestamptz constraint rollup_watermarks_upto_finite check (isfinite(upto)),  -- everything finished before this is rolled up
  upto_id  bigint        -- for id-ordered sources: every id up to this
);
comment on table symphony.rollup_watermarks is
  'How far symphony.roll_up() has folded each source into the dashboard''s rollup tables.';

create table symphony.message_minutes (
  minute          timestamptz not null constraint message_minutes_minute_finite check (isfinite(minute)),
  queue           text not null,
  succeeded       integer not null default 0,
  dead            integer not null default 0,
  cancelled       integer not null default 0,
  retried         integer not null default 0,  -- finished after more than one attempt
  failed_attempts integer not null default 0,  -- attempts that failed, of the messages finished here
  latency         integer[] not null,          -- succeeded messages by due-to-request time (latency_bounds)
  primary key (minute, queue)
);
comment on table symphony.message_minutes is
  'Finished messages per minute (of finished_at) and queue: succeeded, dead, cancelled, retried (needed more than one attempt), failed attempts, and a histogram of the time from due (available_at) to the provider request of the attempt that succeeded. Filled by symphony.roll_up().';

create table symphony.bridge_minutes (
  minute      timestamptz not null constraint bridge_minutes_minute_finite check (isfinite(minute)),
  bridge      text not null,
  system      text not null check (system in ('legacy', 'symphony')),
  finished    integer not null default 0,
  succeeded   integer not null default 0,
  failed      integer not null default 0,
  handed_back integer not null default 0,  -- finished by legacy after Symphony handed them back
  latency     integer[] not null,          -- insert to finish
  primary key (minute, bridge, system)
);
comment on table symphony.bridge_minutes is
  'Bridged rows finished per minute, bridge and system (who finished them): successes, failures, rows handed back by a rollback, and a histogram of insert-to-finish time. Filled by symphony.roll_up().';

create table symphony.delivery_days (
  day      date not null,
  channel  text not null check (channel in ('email', 'sms')),
  status   text not null,
  events   integer not null default 0,
  primary key (day, channel, status)
);
comment on table symphony.delivery_days is
  'Delivery events per day (UTC, of occurred_at), channel and status, from symphony.delivery_events. Filled by symphony.roll_up().';

-- roll_up reads bridge_rows by the time they finished.
create index bridge_rows_finished_idx on symphony.bridge_rows (finished_at) where finished_at is not null;

-- roll_up folds what finished since the last call into the rollup tables, at
-- most max_span of history per source per call (the first call on a large
-- history catches up over several), and drops rollup rows older than keep.
-- Returns the number of rollup rows written. Concurrent calls do not wait:
-- all but one return 0 at once.
create function symphony.roll_up(max_span interval default interval '1 day', keep interval default interval '35 days')
returns integer language plpgsql set search_path = '' as $$
declare
  cutoff timestamptz := date_trunc('minute', now()) - interval '1 minute';
  lo timestamptz;
  hi timestamptz;
  lo_id bigint;
  hi_id bigint;
  n integer;
  total integer := 0;
begin
  if max_span is null or max_span < interval '1 minute' then
    raise exception using errcode = '22023', message = 'symphony: roll_up needs a max_span of at least a minute';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('symphony.roll_up')) then
    return 0;
  end if;
  insert into symphony.rollup_watermarks (name) values ('messages'), ('bridge_rows'), ('delivery_events')
  on conflict (name) do nothing;

  -- Messages, by the minute they finished.
  select upto into lo from symphony.rollup_watermarks where name = 'messages';
  if lo is null then
    select date_trunc('minute', min(finished_at)) into lo from symphony.messages where finished_at is not null;
  end if;
  if lo < cutoff then
    hi := least(cutoff, lo + date_trunc('minute', max_span));
    execute format($q$
    insert into symphony.message_minutes as t (minute, queue, succeeded, dead, cancelled, retried, failed_attempts, latency)
    select date_trunc('minute', m.finished_at), m.queue,
           count(*) filter (where m.state = 'succeeded'),
           count(*) filter (where m.state = 'dead'),
           count(*) filter (where m.state = 'cancelled'),
           count(*) filter (where m.attempts > 1),
           coalesce(sum(case m.state when 'succeeded' then m.attempts - 1 when 'dead' then m.attempts
                                     else greatest(m.attempts - 1, 0) end), 0),
           %s
      from symphony.messages m
     where m.finished_at >= $1 and m.finished_at < $2
     group by 1, 2
    on conflict (minute, queue) do update
       set succeeded = t.succeeded + excluded.succeeded, dead = t.dead + excluded.dead,
           cancelled = t.cancelled + excluded.cancelled, retried = t.retried + excluded.retried,
           failed_attempts = t.failed_attempts + excluded.failed_attempts,
           latency = symphony._hist_merge(t.latency, excluded.latency)$q$,
      symphony._histogram_sql('case when m.state = ''succeeded'' then m.attempted_at - m.available_at end'))
    using lo, hi;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto = hi where name = 'messages';
  end if;

  -- Bridged rows, by the minute they finished, per system that finished them.
  select upto into lo from symphony.rollup_watermarks where name = 'bridge_rows';
  if lo is null then
    select date_trunc('minute', min(finished_at)) into lo from symphony.bridge_rows where finished_at is not null;
  end if;
  if lo < cutoff then
    hi := least(cutoff, lo + date_trunc('minute', max_span));
    execute format($q$
    insert into symphony.bridge_minutes as t (minute, bridge, system, finished, succeeded, failed, handed_back, latency)
    select date_trunc('minute', r.finished_at), r.bridge, r.owner,
           count(*),
           count(*) filter (where r.outcome = 'succeeded'),
           count(*) filter (where r.outcome = 'failed'),
           count(*) filter (where r.handed_back_at is not null),
           %s
      from symphony.bridge_rows r
     where r.finished_at >= $1 and r.finished_at < $2
     group by 1, 2, 3
    on conflict (minute, bridge, system) do update
       set finished = t.finished + excluded.finished, succeeded = t.succeeded + excluded.succeeded,
           failed = t.failed + excluded.failed, handed_back = t.handed_back + excluded.handed_back,
           latency = symphony._hist_merge(t.latency, excluded.latency)$q$,
      symphony._histogram_sql('r.finished_at - r.created_at'))
    using lo, hi;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto = hi where name = 'bridge_rows';
  end if;

  -- Delivery events, by id, once received a full minute ago.
  select coalesce(upto_id, 0) into lo_id from symphony.rollup_watermarks where name = 'delivery_events';
  select max(id) into hi_id
    from (select id from symphony.delivery_events
           where id > lo_id and received_at < cutoff
           order by id limit 100000) e;
  if hi_id is not null then
    insert into symphony.delivery_days as t (day, channel, status, events)
    select (e.occurred_at at time zone 'UTC')::date,
           case e.provider when 'twilio' then 'sms' else 'email' end, e.status, count(*)
      from symphony.delivery_events e
     where e.id > lo_id and e.id <= hi_id and e.received_at < cutoff
     group by 1, 2, 3
    on conflict (day, channel, status) do update set events = t.events + excluded.events;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto_id = hi_id where name = 'delivery_events';
  end if;

  delete from symphony.message_minutes where minute < now() - keep;
  delete from symphony.bridge_minutes where minute < now() - keep;
  delete from symphony.delivery_days where day < (now() - keep)::date;
  return total;
end $$;
comment on function symphony.roll_up(interval, interval) is
  'Fold finished messages, bridged rows and delivery events into message_minutes, bridge_minutes and delivery_days from their watermarks (at most max_span per call), and drop rollup rows older than keep. Run every minute by pg_cron''s symphony-rollup job and by the sidecars.';

-- ---------------------------------------------------------------------------
-- Campaign actions, audited whoever performs them.
-- ---------------------------------------------------------------------------
create table symphony.campaign_actions (
  id          bigint generated always as identity primary key,
  campaign_id bigint not null,
  action      text not null check (action in ('pause', 'resume', 'cancel')),
  actor       text not null,
  at          timestamptz not null default now() constraint campaign_actions_at_finite check (isfinite(at)),
  detail      text
);
create index campaign_actions_campaign_idx on symphony.campaign_actions (campaign_id);
comment on table symphony.campaign_actions is
  'Audit of campaign pauses, resumes and cancellations, with symphony.actor(). Kept after a campaign is deleted.';

-- SECURITY DEFINER: the audit table is not writable by the roles that act.
create function symphony.campaigns_audit() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  act text := case
    when new.status = 'paused' then 'pause'
    when new.status = 'cancelled' then 'cancel'
    when old.status = 'paused' and new.status in ('scheduled', 'running') then 'resume'
  end;
begin
  if act is not null then
    insert into symphony.campaign_actions (campaign_id, action, actor, detail)
    values (new.id, act, symphony.actor(), format('%s → %s', old.status, new.status));
  end if;
  return null;
end $$;
create trigger campaigns_audit after update of status on symphony.campaigns
  for each row when (old.status is distinct from new.status)
  execute function symphony.campaigns_audit();

-- ---------------------------------------------------------------------------
-- pg_cron: roll up every minute, where the other jobs run.
-- ---------------------------------------------------------------------------
do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('symphony-rollup', '* * * * *', 'select symphony.roll_up()');
  end if;
end $$;

-- ---------------------------------------------------------------------------
-- Access: service_role reads the rollups and the audit; nobody else anything.
-- ---------------------------------------------------------------------------
revoke all on symphony.rollup_watermarks, symphony.message_minutes, symphony.bridge_minutes,
  symphony.delivery_days, symphony.campaign_actions from public;
revoke all on function symphony.latency_bounds(), symphony._histogram_sql(text), symphony._hist_merge(integer[], integer[]),
  symphony.roll_up(interval, interval), symphony.campaigns_audit() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on symphony.rollup_watermarks, symphony.message_minutes, symphony.bridge_minutes, '
                     'symphony.delivery_days, symphony.campaign_actions from %I', r);
      execute format('revoke all on function symphony.latency_bounds(), symphony._histogram_sql(text), '
                     'symphony._hist_merge(integer[], integer[]), symphony.roll_up(interval, interval), '
                     'symphony.campaigns_audit() from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.rollup_watermarks, symphony.message_minutes, symphony.bridge_minutes,
      symphony.delivery_days, symphony.campaign_actions to service_role;
  end if;
end $$;
