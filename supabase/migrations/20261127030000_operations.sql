-- Symphony Messenger: operations. Views an operator reads in Supabase Studio (or
-- with `symphony status`), and the one operator action the first migration lacks:
-- removing a dead message.
--
-- Every view is security_invoker: it reads with the caller's privileges, so a
-- role that cannot read symphony.messages cannot read it through a view either
-- (and Supabase's linter has no security-definer view to flag).

-- The failure queue is read by queue and by time (recent_failures, the dead
-- counts in queue_stats, the metrics collector); dead rows are few next to
-- succeeded history, so a partial index keeps those reads off the history.
-- Building it reads symphony.messages once and blocks writes meanwhile (a
-- migration runs in a transaction, so not CONCURRENTLY): on a table with
-- millions of finished rows, purge first or apply at a quiet moment.
create index if not exists messages_dead_idx on symphony.messages (queue, finished_at desc)
  where state = 'dead';

-- ---------------------------------------------------------------------------
-- queue_stats: one row per queue. pending counts messages due now; scheduled
-- those delayed or waiting out a retry backoff (retrying says how many of all
-- pending rows have failed before). Throughput counts finished messages.
-- ---------------------------------------------------------------------------
create view symphony.queue_stats with (security_invoker = true) as
-- One branch per partial index (pending, processing, dead, finished by time):
-- a single "state in (...)" scan would read the whole history instead.
with live_parts as (
  select queue,
         count(*) filter (where available_at <= now()) as pending,
         count(*) filter (where available_at > now()) as scheduled,
         count(*) filter (where attempts > 0) as retrying,
         0::bigint as processing,
         min(available_at) filter (where available_at <= now()) as oldest_pending_at
    from symphony.messages
   where state = 'pending'
   group by queue
  union all
  select queue, 0, 0, 0, count(*), null
    from symphony.messages
   where state = 'processing'
   group by queue
), live as (
  select queue, sum(pending) as pending, sum(scheduled) as scheduled, sum(retrying) as retrying,
         sum(processing) as processing, min(oldest_pending_at) as oldest_pending_at
    from live_parts
   group by queue
), dead as (
  select queue, count(*) as dead, max(finished_at) as last_dead_at
    from symphony.messages
   where state = 'dead'
   group by queue
), recent as (
  select queue,
         count(*) filter (where state = 'succeeded' and finished_at > now() - interval '5 minutes') as succeeded_5m,
         count(*) filter (where state = 'dead' and finished_at > now() - interval '5 minutes') as dead_5m,
         count(*) filter (where state = 'succeeded') as succeeded_1h,
         count(*) filter (where state = 'dead') as dead_1h
    from symphony.messages
   where finished_at > now() - interval '1 hour'
   group by queue
), names as (
  select name as queue from symphony.queues
  union select queue from live
  union select queue from dead
  union select queue from recent
)
select n.queue,
       coalesce(l.pending, 0)::bigint    as pending,
       coalesce(l.scheduled, 0)::bigint  as scheduled,
       coalesce(l.retrying, 0)::bigint   as retrying,
       coalesce(l.processing, 0)::bigint as processing,
       coalesce(d.dead, 0)        as dead,
       coalesce(extract(epoch from now() - l.oldest_pending_at), 0)::float8 as oldest_pending_seconds,
       coalesce(r.succeeded_5m, 0) as succeeded_5m,
       coalesce(r.dead_5m, 0)      as dead_5m,
       coalesce(r.succeeded_1h, 0) as succeeded_1h,
       coalesce(r.dead_1h, 0)      as dead_1h,
       round((coalesce(r.succeeded_5m, 0) + coalesce(r.dead_5m, 0)) / 5.0, 2)  as per_minute_5m,
       round((coalesce(r.succeeded_1h, 0) + coalesce(r.dead_1h, 0)) / 60.0, 2) as per_minute_1h,
       d.last_dead_at
  from names n
  left join live l on l.queue = n.queue
  left join dead d on d.queue = n.queue
  left join recent r on r.queue = n.queue
 order by n.queue;
comment on view symphony.queue_stats is
  'Per queue: pending (due now), scheduled (delayed or backing off), retrying (pending after a failure), processing, dead, the age of the oldest due message, and finished messages over the last 5 minutes and hour (per_minute_* = succeeded + dead per minute).';

-- ---------------------------------------------------------------------------
-- recent_failures: the failure queue (dead) and messages waiting to retry after
-- a failed attempt, newest failure first, with the reason.
-- ---------------------------------------------------------------------------
create view symphony.recent_failures with (security_invoker = true) as
select m.id,
       m.queue,
       m.kind,
       m.state,
       m.attempts,
       m.max_attempts,
       coalesce(m.finished_at, (m.errors -> -1 ->> 'at')::timestamptz, m.attempted_at, m.created_at) as failed_at,
       m.last_error as reason,
       m.errors -> -1 ->> 'code' as code,
       m.errors @> '[{"maybe_sent": true}]' as maybe_sent,
       case when m.state = 'pending' then m.available_at end as retry_at,
       case when jsonb_typeof(m.payload -> 'to') = 'array' then m.payload -> 'to' ->> 0
            else m.payload ->> 'to' end as recipient,
       m.subject,
       m.created_at
  from symphony.messages m
 where m.state = 'dead'
    or (m.state = 'pending' and m.attempts > 0 and m.last_error is not null)
 order by failed_at desc, m.id desc;
comment on view symphony.recent_failures is
  'Dead messages (state dead: the failure queue; retry with symphony.retry(id)) and pending messages waiting to retry after a failed attempt (state pending, retry_at), newest failure first. reason is the last error; code the provider''s code.';

-- ---------------------------------------------------------------------------
-- worker_status: sidecars with their heartbeats. A sidecar beats every 10 s;
-- one that has not beaten for 30 s (three missed beats) and did not stop cleanly
-- is stale: crashed, frozen or cut off from the database. Its claims come back
-- when their leases expire. Sidecars stopped over a day ago are left out.
-- ---------------------------------------------------------------------------
create view symphony.worker_status with (security_invoker = true) as
select w.id,
       w.hostname,
       w.version,
       w.queues,
       case when w.stopped_at is not null then 'stopped'
            when w.heartbeat_at < now() - interval '30 seconds' then 'stale'
            else 'alive' end as status,
       extract(epoch from now() - w.heartbeat_at)::float8 as heartbeat_age_seconds,
       (select count(*) from symphony.messages m
         where m.state = 'processing' and m.locked_by = w.id) as processing,
       w.started_at,
       w.heartbeat_at,
       w.stopped_at
  from symphony.workers w
 where w.stopped_at is null or w.stopped_at > now() - interval '1 day'
 order by w.stopped_at is not null, w.heartbeat_at desc;
comment on view symphony.worker_status is
  'Sidecars: alive (beat within 30 s), stale (no beat for 30 s and no clean stop: look at it), stopped (within the last day). processing = messages it holds now.';

-- ---------------------------------------------------------------------------
-- flag_status: each flag with what it does right now. effective_percent is the
-- share of subjects symphony.rollout sends to Symphony (0 while the master
-- switch or the flag is off); for the master switch itself, 100 or 0.
-- ---------------------------------------------------------------------------
create view symphony.flag_status with (security_invoker = true) as
select f.name,
       f.enabled,
       f.rollout_percent,
       case when not coalesce(master.enabled, false) or not f.enabled then 0
            when f.name = 'symphony' then 100
            else f.rollout_percent end as effective_percent,
       f.description,
       f.updated_at,
       f.updated_by,
       c.changed_at as last_changed_at,
       c.changed_by as last_changed_by
  from symphony.flags f
  left join symphony.flags master on master.name = 'symphony'
  left join lateral (
    select fc.changed_at, fc.changed_by from symphony.flag_changes fc
     where fc.flag = f.name order by fc.id desc limit 1) c on true
 order by f.name <> 'symphony', f.name;
comment on view symphony.flag_status is
  'Flags with effective_percent: the share of subjects routed to Symphony now (master switch and flag both on), and the last audited change.';

-- ---------------------------------------------------------------------------
-- remove_dead deletes one dead message for good (Symfony Messenger's
-- messenger:failed:remove). Only dead rows: a pending, processing, succeeded or
-- cancelled message is never touched. SECURITY DEFINER for the same reason as
-- cancel and retry: roles that manage the queue get this checked path, not DELETE.
-- ---------------------------------------------------------------------------
create function symphony.remove_dead(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  delete from symphony.messages where id = message_id and state = 'dead';
  return found;
end $$;
comment on function symphony.remove_dead(bigint) is
  'Delete a dead message for good; returns whether it was deleted. Messages in any other state are never touched.';

-- ---------------------------------------------------------------------------
-- Access: as in the first migration. Nothing for PUBLIC, anon or authenticated;
-- service_role reads the views and may remove dead messages.
-- ---------------------------------------------------------------------------
revoke all on symphony.queue_stats, symphony.recent_failures, symphony.worker_status, symphony.flag_status from public;
revoke all on function symphony.remove_dead(bigint) from public;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on symphony.queue_stats, symphony.recent_failures, symphony.worker_status, symphony.flag_status from %I', r);
      execute format('revoke all on function symphony.remove_dead(bigint) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.queue_stats, symphony.recent_failures, symphony.worker_status, symphony.flag_status to service_role;
    grant execute on function symphony.remove_dead(bigint) to service_role;
  end if;
end $$;
