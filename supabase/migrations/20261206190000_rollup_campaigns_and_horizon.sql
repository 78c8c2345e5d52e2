-- The dashboard's campaign counts from the rollup, late completions counted,
-- and a cheaper roll-up (issue 18).
--
-- 1. Campaign progress was counted live, one primary-key lookup per recipient
--    (1 s for a campaign of 100,000). symphony.roll_up() now also folds campaign
--    messages into symphony.campaign_counts: a finished message adds to sent,
--    failed (dead) or cancelled, and a delivery report moves a sent message to
--    delivered, bounced or complained (each message under its most final report,
--    as symphony.delivery_rank orders them). The page adds what finished since
--    the rollup's watermark (symphony._campaigns_finished_recently), so progress
--    moves between roll-ups, and the recipient-level counts the campaign row keeps.
-- 2. A completion's finished_at is its transaction's start; one that commits after
--    its minute was rolled up used to be lost. roll_up now records, each call, the
--    next transaction id to be assigned (symphony.rollup_horizons), and rolls a
--    minute up only once every transaction that had an id before the minute ended
--    has finished, so a slow commit holds the watermark back instead of being
--    missed (at most max_hold, 15 minutes by default).
-- 3. The latency bucket uses date_part (float8), not extract (numeric, then cast).

-- ---------------------------------------------------------------------------
-- Horizon samples: by `at`, every transaction id below next_xid was assigned
-- (next_xid is the id of the roll_up call that took the sample).
-- ---------------------------------------------------------------------------
create table symphony.rollup_horizons (
  at       timestamptz primary key constraint rollup_horizons_at_finite check (isfinite(at)),
  next_xid xid8 not null
);
comment on table symphony.rollup_horizons is
  'Samples symphony.roll_up() takes each call: at time at, every transaction id below next_xid had been assigned. A minute is rolled up once every transaction with an id before it has ended (or after max_hold). Kept for an hour.';

-- _rollup_horizon: the time before which every transaction that wrote with an id
-- has ended, given the oldest transaction still running (null: none), from the
-- samples; null when there is no usable sample (no history yet: roll up to the
-- closed minute as before).
create function symphony._rollup_horizon(oldest xid8)
returns timestamptz language sql stable set search_path = '' as $$
  select case
           when oldest is null then now()
           else (select max(h.at) from symphony.rollup_horizons h where h.next_xid <= oldest)
         end
$$;
comment on function symphony._rollup_horizon(xid8) is
  'Part of symphony.roll_up(): the latest sampled time before which every transaction holding an id had ended, given the oldest id still running (now() when none runs).';

-- ---------------------------------------------------------------------------
-- Campaign counts, folded by roll_up.
-- ---------------------------------------------------------------------------
create table symphony.campaign_counts (
  campaign_id bigint primary key,
  sent        bigint not null default 0,  -- succeeded, no delivery report yet (or sent/delayed only)
  delivered   bigint not null default 0,
  bounced     bigint not null default 0,  -- bounced or undelivered
  complained  bigint not null default 0,
  failed      bigint not null default 0,  -- the message went dead
  cancelled   bigint not null default 0   -- the message was cancelled (suppressed at send, campaign cancelled)
);
comment on table symphony.campaign_counts is
  'Per campaign, its email.send messages folded by symphony.roll_up(): finished before the messages watermark (sent, failed, cancelled), each sent one moved by the delivery reports before the delivery_events watermark to its most final status. Recipient-level counts (queued, skipped, failed) are on symphony.campaigns.';

-- _campaign_of: the campaign of a message queued by symphony.campaign_enqueue, or
-- null. Checks the dedupe key it sets, so a message whose meta only claims a
-- campaign is not counted. Spliced into roll_up's queries as text, so it costs no
-- call per row.
create function symphony._campaign_of_sql(m text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select format($f$case when %1$s.kind = 'email.send' and %1$s.meta ? 'campaign_id'
                         and %1$s.dedupe_key = 'campaign:' || (%1$s.meta ->> 'campaign_id') || ':' || (%1$s.meta ->> 'recipient_id')
                        then (%1$s.meta ->> 'campaign_id')::bigint end$f$, m)
$$;

-- A cancelled campaign's cancelled recipients are counted on the page (without
-- this, by reading every campaign's recipients); cancel_campaign writes them once.
create index campaign_recipients_cancelled_idx on symphony.campaign_recipients (campaign_id)
  where status = 'cancelled';

-- Unsubscribes since a campaign started are looked up by time on the page.
create index suppressions_unsubscribed_idx on symphony.suppressions (created_at)
  where reason = 'unsubscribed' and channel = 'email';

-- Campaign messages already rolled up when this migration runs.
insert into symphony.campaign_counts (campaign_id, sent, delivered, bounced, complained, failed, cancelled)
select r.campaign_id,
       count(*) filter (where m.state = 'succeeded' and coalesce(d.rank, 0) < 3),
       count(*) filter (where m.state = 'succeeded' and d.rank = 3),
       count(*) filter (where m.state = 'succeeded' and d.rank = 4),
       count(*) filter (where m.state = 'succeeded' and d.rank = 5),
       count(*) filter (where m.state = 'dead'),
       count(*) filter (where m.state = 'cancelled')
  from symphony.campaign_recipients r
  join symphony.messages m on m.id = r.message_id
  left join lateral (select max(symphony.delivery_rank(e.status)) as rank from symphony.delivery_events e
                      where e.message_id = m.id
                        and e.id <= (select coalesce(upto_id, 0) from symphony.rollup_watermarks where name = 'delivery_events')) d on true
 where r.status = 'queued'
   and m.finished_at < (select upto from symphony.rollup_watermarks where name = 'messages')
 group by r.campaign_id;

-- ---------------------------------------------------------------------------
-- The latency bucket: date_part returns float8 directly; extract returns numeric.
-- ---------------------------------------------------------------------------
create or replace function symphony._latency_bucket_sql(d text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select format('width_bucket(date_part(''epoch'', %s) * 1000, %L::float8[])', d, symphony.latency_bounds()::float8[])
$$;

-- ---------------------------------------------------------------------------
-- roll_up: as before, plus the horizon, the campaign counts, and max_hold.
-- ---------------------------------------------------------------------------
drop function symphony.roll_up(interval, interval);
create function symphony.roll_up(max_span interval default interval '1 day', keep interval default interval '35 days',
  max_hold interval default interval '15 minutes')
-- enable_sort off: the minute just closed is newer than the table's statistics,
-- so the planner expects a row or two and groups by sorting; the few groups of
-- a minute fit a hash table. Over 50,000 rows the grouping took 90 ms sorted
-- (spilling to disk at the default work_mem) and 25 ms hashed.
returns integer language plpgsql set search_path = '' set enable_sort = off as $$
declare
  me xid8;
  snap pg_snapshot;
  oldest xid8;
  safe timestamptz;
  cutoff timestamptz;
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
  if max_hold is null or max_hold < interval '0' then
    raise exception using errcode = '22023', message = 'symphony: roll_up needs a max_hold of zero or more';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('symphony.roll_up')) then
    return 0;
  end if;
  -- The horizon: a transaction still open may yet commit rows finished at its
  -- start. Our id is taken first, then a snapshot: every id below ours was
  -- assigned by now, and the oldest that may still run is the snapshot's oldest
  -- in progress, or, when none is listed, its xmax if that is below ours (ids
  -- from xmax on are not listed even while they run).
  me := pg_current_xact_id();
  snap := pg_current_snapshot();
  oldest := coalesce((select min(x) from pg_snapshot_xip(snap) x where x <> me),
                     case when pg_snapshot_xmax(snap) < me then pg_snapshot_xmax(snap) end);
  safe := symphony._rollup_horizon(oldest);
  insert into symphony.rollup_horizons (at, next_xid) values (now(), me)
  on conflict (at) do nothing;
  delete from symphony.rollup_horizons where at < now() - greatest(max_hold, interval '1 hour');
  cutoff := date_trunc('minute', now()) - interval '1 minute';
  if safe is not null then
    cutoff := least(cutoff, date_trunc('minute', greatest(safe, now() - max_hold)));
  end if;

  insert into symphony.rollup_watermarks (name) values ('messages'), ('bridge_rows'), ('delivery_events')
  on conflict (name) do nothing;

  -- Messages, by the minute they finished; campaign messages also by campaign.
  select upto into lo from symphony.rollup_watermarks where name = 'messages';
  if lo is null then
    select date_trunc('minute', min(finished_at)) into lo from symphony.messages where finished_at is not null;
  end if;
  if lo < cutoff then
    hi := least(cutoff, lo + date_trunc('minute', max_span));
    execute format($q$
    with g as materialized (
      select date_bin('1 minute', m.finished_at, timestamptz '2000-01-01 00:00+00') as minute, m.queue,
             %s as bucket,
             %s as campaign_id,
             m.state,
             count(*) as n,
             count(*) filter (where m.attempts > 1) as retried,
             coalesce(sum(case m.state when 'succeeded' then m.attempts - 1 when 'dead' then m.attempts
                                       else greatest(m.attempts - 1, 0) end), 0) as failed_attempts
        from symphony.messages m
       where m.finished_at >= $1 and m.finished_at < $2
       group by 1, 2, 3, 4, 5
    ), b as (
      select minute, queue, bucket, sum(n) as n,
             sum(n) filter (where state = 'succeeded') as succeeded,
             sum(n) filter (where state = 'dead') as dead,
             sum(n) filter (where state = 'cancelled') as cancelled,
             sum(retried) as retried, sum(failed_attempts) as failed_attempts
        from g
       group by 1, 2, 3
    ), mm as (
      insert into symphony.message_minutes as t (minute, queue, succeeded, dead, cancelled, retried, failed_attempts, latency)
      select b.minute, b.queue, coalesce(sum(b.succeeded), 0), coalesce(sum(b.dead), 0), coalesce(sum(b.cancelled), 0),
             sum(b.retried), sum(b.failed_attempts), %s
        from b
       group by 1, 2
      on conflict (minute, queue) do update
         set succeeded = t.succeeded + excluded.succeeded, dead = t.dead + excluded.dead,
             cancelled = t.cancelled + excluded.cancelled, retried = t.retried + excluded.retried,
             failed_attempts = t.failed_attempts + excluded.failed_attempts,
             latency = symphony._hist_merge(t.latency, excluded.latency)
      returning 1
    ), cc as (
      insert into symphony.campaign_counts as t (campaign_id, sent, failed, cancelled)
      select campaign_id, coalesce(sum(n) filter (where state = 'succeeded'), 0),
             coalesce(sum(n) filter (where state = 'dead'), 0), coalesce(sum(n) filter (where state = 'cancelled'), 0)
        from g
       where campaign_id is not null
       group by 1
      on conflict (campaign_id) do update
         set sent = t.sent + excluded.sent, failed = t.failed + excluded.failed, cancelled = t.cancelled + excluded.cancelled
      returning 1
    )
    select (select count(*) from mm) + (select count(*) from cc)$q$,
      symphony._latency_bucket_sql('case when m.state = ''succeeded'' then m.attempted_at - m.available_at end'),
      symphony._campaign_of_sql('m'),
      symphony._histogram_sum_sql('b.bucket', 'b.n'))
    into n
    using lo, hi;
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
    select b.minute, b.bridge, b.owner, sum(b.n), sum(b.succeeded), sum(b.failed), sum(b.handed_back), %s
      from (select date_bin('1 minute', r.finished_at, timestamptz '2000-01-01 00:00+00') as minute, r.bridge, r.owner,
                   %s as bucket,
                   count(*) as n,
                   count(*) filter (where r.outcome = 'succeeded') as succeeded,
                   count(*) filter (where r.outcome = 'failed') as failed,
                   count(*) filter (where r.handed_back_at is not null) as handed_back
              from symphony.bridge_rows r
             where r.finished_at >= $1 and r.finished_at < $2
             group by 1, 2, 3, 4) b
     group by 1, 2, 3
    on conflict (minute, bridge, system) do update
       set finished = t.finished + excluded.finished, succeeded = t.succeeded + excluded.succeeded,
           failed = t.failed + excluded.failed, handed_back = t.handed_back + excluded.handed_back,
           latency = symphony._hist_merge(t.latency, excluded.latency)$q$,
      symphony._histogram_sum_sql('b.bucket', 'b.n'),
      symphony._latency_bucket_sql('r.finished_at - r.created_at'))
    using lo, hi;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto = hi where name = 'bridge_rows';
  end if;

  -- Delivery events, by id, once received before the cutoff.
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
    -- A sent campaign message moves to its most final report: from the class of its
    -- reports up to lo_id to the class of those up to hi_id (ranks 3 delivered,
    -- 4 bounced or undelivered, 5 complained; below 3 it stays sent).
    execute format($q$
    with msg as (
      select distinct e.message_id from symphony.delivery_events e
       where e.id > $1 and e.id <= $2 and e.received_at < $3 and e.provider <> 'twilio'
         and symphony.delivery_rank(e.status) >= 3
    ), cm as (
      select m.id, %s as campaign_id
        from msg join symphony.messages m on m.id = msg.message_id
       where m.state = 'succeeded'
    ), moved as (
      select cm.campaign_id,
             greatest(coalesce((select max(symphony.delivery_rank(e.status)) from symphony.delivery_events e
                                 where e.message_id = cm.id and e.id <= $1), 0), 2) as was,
             greatest(coalesce((select max(symphony.delivery_rank(e.status)) from symphony.delivery_events e
                                 where e.message_id = cm.id and e.id <= $2 and (e.id <= $1 or e.received_at < $3)), 0), 2) as became
        from cm
       where cm.campaign_id is not null
    )
    insert into symphony.campaign_counts as t (campaign_id, sent, delivered, bounced, complained)
    select campaign_id,
           count(*) filter (where became = 2) - count(*) filter (where was = 2),
           count(*) filter (where became = 3) - count(*) filter (where was = 3),
           count(*) filter (where became = 4) - count(*) filter (where was = 4),
           count(*) filter (where became = 5) - count(*) filter (where was = 5)
      from moved
     where was <> became
     group by 1
    on conflict (campaign_id) do update
       set sent = t.sent + excluded.sent, delivered = t.delivered + excluded.delivered,
           bounced = t.bounced + excluded.bounced, complained = t.complained + excluded.complained$q$,
      symphony._campaign_of_sql('m'))
    using lo_id, hi_id, cutoff;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto_id = hi_id where name = 'delivery_events';
  end if;

  delete from symphony.message_minutes where minute < now() - keep;
  delete from symphony.bridge_minutes where minute < now() - keep;
  delete from symphony.delivery_days where day < (now() - keep)::date;
  return total;
end $$;
comment on function symphony.roll_up(interval, interval, interval) is
  'Fold finished messages, bridged rows and delivery events into message_minutes, bridge_minutes, delivery_days and campaign_counts from their watermarks (at most max_span per call), and drop rollup rows older than keep. A minute is folded once it has closed and every transaction holding an id before it has ended (waiting at most max_hold), so a slow commit is counted, not lost. Run every minute by pg_cron''s symphony-rollup job and by the sidecars.';

-- _campaigns_finished_recently: per campaign, its messages finished since the
-- rollup's watermark (at most the last hour), by state. Dynamic SQL, so the
-- planner sees the bound (see symphony._finished_recently).
create function symphony._campaigns_finished_recently()
returns table (campaign_id bigint, succeeded bigint, dead bigint, cancelled bigint)
language plpgsql stable set search_path = '' as $$
declare
  since timestamptz := greatest(date_trunc('minute', now()) - interval '1 hour',
                                (select upto from symphony.rollup_watermarks where name = 'messages'));
begin
  return query execute format(
    'select c.campaign_id,
            count(*) filter (where c.state = ''succeeded''),
            count(*) filter (where c.state = ''dead''),
            count(*) filter (where c.state = ''cancelled'')
       from (select %s as campaign_id, m.state from symphony.messages m where m.finished_at >= $1) c
      where c.campaign_id is not null
      group by 1', symphony._campaign_of_sql('m'))
    using since;
end $$;
comment on function symphony._campaigns_finished_recently() is
  'Per campaign, its email.send messages finished since the rollup''s watermark (at most the last hour): succeeded, dead, cancelled. The dashboard adds them to symphony.campaign_counts.';

-- ---------------------------------------------------------------------------
-- queue_depth_bounded: the overview's queue depths, reading at most cap pending
-- rows per queue (a capped count says "at least").
-- ---------------------------------------------------------------------------
create function symphony.queue_depth_bounded(cap integer default 10000)
returns table (queue text, pending bigint, scheduled bigint, retrying bigint, pending_capped boolean,
               oldest_pending_seconds float8)
-- No JIT: the planner's estimates for a deep backlog made PostgreSQL compile this
-- query (about 0.2-0.6 s on the development machine) to run it in 3 ms.
language sql stable set search_path = '' set jit = off as $$
  with recursive q as (
    -- The queues with pending work, one index probe each (a loose scan of messages_claim_idx).
    (select m.queue from symphony.messages m where m.state = 'pending' order by m.queue limit 1)
    union all
    select (select m.queue from symphony.messages m where m.state = 'pending' and m.queue > q.queue
             order by m.queue limit 1)
      from q where q.queue is not null
  )
  select q.queue, s.pending, s.scheduled, r.retrying, s.n > cap,
         coalesce(extract(epoch from now() - o.oldest), 0)::float8
    from q
   cross join lateral (
     select count(*) filter (where p.available_at <= now()) as pending,
            count(*) filter (where p.available_at > now()) as scheduled,
            count(*) as n
       -- In the index's order, so the scan stops after cap + 1 entries (unordered,
       -- the planner chose a bitmap of the whole backlog); only indexed columns,
       -- so once vacuumed it reads no rows.
       from (select m.available_at from symphony.messages m
              where m.state = 'pending' and m.queue = q.queue
              order by m.priority desc, m.available_at, m.id
              limit cap + 1) p) s
   cross join lateral (
     select count(*) as retrying
       from (select 1 from symphony.messages m
              where m.state = 'pending' and m.attempts > 0 and m.queue = q.queue
              limit cap + 1) p) r
   cross join lateral (
     -- The oldest due message: the first entry of each priority (the index orders
     -- by queue, priority desc, available_at), over the priorities present.
     with recursive pr as (
       (select m.priority from symphony.messages m where m.state = 'pending' and m.queue = q.queue
         order by m.priority desc limit 1)
       union all
       select (select m.priority from symphony.messages m where m.state = 'pending' and m.queue = q.queue
                  and m.priority < pr.priority order by m.priority desc limit 1)
         from pr where pr.priority is not null
     )
     select min(f.available_at) filter (where f.available_at <= now()) as oldest
       from pr
      cross join lateral (select m.available_at from symphony.messages m
                           where m.state = 'pending' and m.queue = q.queue and m.priority = pr.priority
                           order by m.available_at limit 1) f
      where pr.priority is not null) o
   where q.queue is not null
$$;
comment on function symphony.queue_depth_bounded(integer) is
  'Per queue with pending messages: pending (due now), scheduled and retrying among at most cap + 1 pending rows, pending_capped when there were more (the counts then say "at least"), and the age of the oldest due message (exact). Reads messages_claim_idx only, so a large backlog costs no more than cap rows a queue.';

-- The overview's recent failures (symphony.recent_failures) list the dead and the
-- retry-waiting messages. The dead have their index; the retry-waiting were found
-- among all pending rows: with a backlog of 100,000 (a campaign just queued) that
-- read took 1.4 s of the overview's 1.2-2.6 s. This index holds only messages
-- waiting to retry after a failed attempt, so only a failed attempt's update adds
-- an entry: nothing on the path of a message that succeeds.
create index messages_retrying_idx on symphony.messages (queue, available_at)
  where state = 'pending' and attempts > 0;

revoke all on table symphony.rollup_horizons, symphony.campaign_counts from public;
revoke all on function symphony._rollup_horizon(xid8), symphony._campaign_of_sql(text),
  symphony.roll_up(interval, interval, interval), symphony._campaigns_finished_recently(),
  symphony.queue_depth_bounded(integer) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on table symphony.rollup_horizons, symphony.campaign_counts from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.rollup_horizons, symphony.campaign_counts to service_role;
  end if;
end $$;
