-- symphony.roll_up() folds campaign messages into campaign_counts (finished
-- messages, then their delivery reports), and holds its watermark back while a
-- transaction that could still commit older completions is open (the horizon).
begin;
create extension if not exists pgtap;
select plan(15);

update symphony.flags set enabled = true where name = 'symphony';
-- Hold the roll-up's lock (re-entrant for this session) so the cron job stays out of the way.
select pg_advisory_xact_lock(hashtext('symphony.roll_up'));
insert into symphony.rollup_watermarks (name, upto) values ('messages', date_trunc('minute', now()) - interval '10 minutes')
on conflict (name) do update set upto = excluded.upto;
insert into symphony.rollup_watermarks (name, upto_id) values ('delivery_events', (select coalesce(max(id), 0) from symphony.delivery_events))
on conflict (name) do update set upto_id = excluded.upto_id;
delete from symphony.rollup_horizons;

-- ---------------------------------------------------------------------------
-- The horizon.
-- ---------------------------------------------------------------------------
insert into symphony.rollup_horizons (at, next_xid) values
  (now() - interval '20 minutes', '100'), (now() - interval '10 minutes', '200'), (now() - interval '2 minutes', '300');
select is(symphony._rollup_horizon(null), now(), 'no other transaction open: everything before now is final');
select is(symphony._rollup_horizon('250'), now() - interval '10 minutes',
  'a transaction open since before the last sample: final only up to the sample every older transaction ended before');
select is(symphony._rollup_horizon('300'), now() - interval '2 minutes', 'the oldest open transaction started after the newest sample');
select is(symphony._rollup_horizon('50'), null, 'older than every sample: no horizon known (roll_up then waits at most max_hold)');
delete from symphony.rollup_horizons;

-- ---------------------------------------------------------------------------
-- A campaign of six: sent, delivered, delivered then complained, dead,
-- cancelled, and one still sending.
-- ---------------------------------------------------------------------------
insert into symphony.campaigns (name, "from", subject, "text") values ('tap-rollup', 'news@example.com', 'Hi', 'Hello');
create temp table c as select id from symphony.campaigns where name = 'tap-rollup';
insert into symphony.campaign_recipients (campaign_id, email) select (select id from c), format('r%s@example.com', n) from generate_series(1, 6) n;
select ok(symphony.start_campaign((select id from c)) is not null, 'the campaign starts');
do $$
declare
  cid bigint := (select id from c);
  mid bigint := (select process_message_id from symphony.campaigns where id = cid);
  b jsonb := symphony.campaign_batch(cid, mid, now());
  ids bigint[] := array(select (r ->> 'id')::bigint from jsonb_array_elements(b -> 'recipients') r);
begin
  perform symphony.campaign_enqueue(cid, mid, ids,
    array(select jsonb_build_object('to', r.email, 'from', 'news@example.com', 'subject', 'Hi', 'text', 'Hello')
            from unnest(ids) with ordinality u(i, o) join symphony.campaign_recipients r on r.id = u.i order by u.o),
    array(select null::text from unnest(ids)), now());
end $$;
create temp table m as
select r.message_id as id, row_number() over (order by r.id) as n
  from symphony.campaign_recipients r where r.campaign_id = (select id from c);
select is((select count(*) from m where id is not null), 6::bigint, 'six messages queued');

update symphony.messages x
   set state = case when m.n <= 3 then 'succeeded' when m.n = 4 then 'dead' else 'cancelled' end,
       attempts = 1, last_error = case when m.n = 4 then 'rejected' when m.n = 5 then 'suppressed' end,
       cancelled_by = case when m.n = 5 then 'test' end,
       attempted_at = now() - interval '5 minutes', available_at = now() - interval '5 minutes',
       finished_at = date_trunc('minute', now()) - interval '5 minutes' + interval '10 seconds'
  from m where x.id = m.id and m.n <= 5;
insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
select m.id, 'resend', 'tap-' || m.n || '-' || s, s, now() - interval '4 minutes', now() - interval '3 minutes'
  from m, unnest(case m.n when 2 then array['delivered'] when 3 then array['delivered', 'complained'] else array[]::text[] end) s;

select cmp_ok(symphony.roll_up(), '>', 0, 'roll_up folds the minute');
select results_eq(
  $$select sent, delivered, bounced, complained, failed, cancelled from symphony.campaign_counts where campaign_id = (select id from c)$$,
  $$values (1::bigint, 1::bigint, 0::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'each message counted once, under its most final report');
select ok(exists (select 1 from symphony.rollup_horizons where at = now() and next_xid = pg_current_xact_id()),
  'each call records a horizon sample');

-- The sixth finishes now: not rolled up yet (its minute is open), but counted by
-- the live part the dashboard adds.
update symphony.messages x set state = 'succeeded', attempts = 1, attempted_at = now(), finished_at = now()
  from m where x.id = m.id and m.n = 6;
select results_eq(
  $$select succeeded, dead, cancelled from symphony._campaigns_finished_recently() where campaign_id = (select id from c)$$,
  $$values (1::bigint, 0::bigint, 0::bigint)$$, 'what finished since the watermark is counted live');
select is((select sent from symphony.campaign_counts where campaign_id = (select id from c)), 1::bigint,
  'and is not in the rollup yet');

-- A later report moves a sent message; a repeated or lesser one moves nothing.
insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
select m.id, 'resend', 'tap-late-' || m.n, case m.n when 1 then 'bounced' else 'delivered' end,
       now() - interval '3 minutes', now() - interval '2 minutes' - interval '30 seconds'
  from m where m.n in (1, 3);
select symphony.roll_up();
select results_eq(
  $$select sent, delivered, bounced, complained from symphony.campaign_counts where campaign_id = (select id from c)$$,
  $$values (0::bigint, 1::bigint, 1::bigint, 1::bigint)$$,
  'a bounce moves the sent one to bounced; a delivery after a complaint leaves it complained');

-- A message of another kind claiming the campaign in its meta is not counted.
insert into symphony.messages (kind, payload, meta, state, attempts, finished_at)
select 'email.send', jsonb_build_object('to', 'x@example.com', 'from', 'news@example.com', 'subject', 'Hi', 'text', 'Hello'),
       jsonb_build_object('campaign_id', (select id from c), 'recipient_id', 1), 'pending', 0, null;
update symphony.messages set state = 'succeeded', attempts = 1, finished_at = now()
 where meta ->> 'recipient_id' = '1' and dedupe_key is null and meta ->> 'campaign_id' = (select id from c)::text;
select results_eq(
  $$select succeeded from symphony._campaigns_finished_recently() where campaign_id = (select id from c)$$,
  $$values (1::bigint)$$, 'only the campaign''s own messages (by their dedupe key) are counted');

-- ---------------------------------------------------------------------------
-- queue_depth_bounded: exact under the cap, "at least" over it.
-- ---------------------------------------------------------------------------
select symphony.dispatch('email.send', jsonb_build_object('to', format('q%s@example.com', g), 'from', 'me@example.com',
         'subject', 'Hi', 'text', 'x'), jsonb_build_object('delay', case when g > 3 then 600 else 0 end))
  from generate_series(1, 5) g;
select results_eq(
  $$select pending, scheduled, pending_capped from symphony.queue_depth_bounded(100) where queue = 'email'$$,
  $$select count(*) filter (where available_at <= now()), count(*) filter (where available_at > now()), false
      from symphony.messages where state = 'pending' and queue = 'email'$$,
  'under the cap the counts are exact');
select results_eq(
  $$select pending + scheduled, pending_capped from symphony.queue_depth_bounded(2) where queue = 'email'$$,
  $$values (3::bigint, true)$$, 'over the cap: cap + 1 rows read, and said to be capped');

select * from finish();
rollback;
