-- What an operator sees two weeks into a migration, for the dashboard's tests
-- and screenshots: two weeks of email and SMS traffic with retries, failures and
-- delivery reports; a bridged legacy email table whose flag went 10 → 50 → 100 %
-- over the last hour; a running campaign with failures, a paused one and a
-- finished one; an SMS drip part way through. Times are relative to now(); ids
-- and pseudo-random spreads come from the row numbers, so every run draws the
-- same pictures.

-- Traffic: email and SMS, denser in the last two hours.
create temporary table seed_traffic as
select g as n, q as queue, at
  from (select g, 'email' as q, now() - interval '14 days' + (g * interval '5 minutes') as at
          from generate_series(1, 14 * 24 * 12 - 30) g
        union all
        select 100000 + g, 'email', now() - interval '2 hours' + (g * interval '6 seconds')
          from generate_series(1, 1180) g
        union all
        select 200000 + g, 'sms', now() - interval '14 days' + (g * interval '20 minutes')
          from generate_series(1, 14 * 24 * 3 - 8) g
        union all
        select 300000 + g, 'sms', now() - interval '2 hours' + (g * interval '20 seconds')
          from generate_series(1, 355) g) t(g, q, at);

insert into symphony.messages (kind, payload, meta)
select case queue when 'email' then 'email.send' else 'sms.send' end,
       case queue
         when 'email' then jsonb_build_object('to', 'user' || n || '@example.com', 'from', 'hi@acme.test',
                                              'subject', 'Your receipt', 'text', 'Thanks')
         else jsonb_build_object('to', '+1415555' || lpad((n % 10000)::text, 4, '0'), 'body', 'Your code is 1234')
       end,
       jsonb_build_object('seed', n)
  from seed_traffic;

-- Outcomes: most succeed at once; every 9th needed a retry; a few die. The
-- hour from 75 to 45 minutes ago has a provider incident: more retries, more
-- dead, slower.
update symphony.messages m
   set state = case when t.n % 53 = 0 or (incident and t.n % 7 = 0) then 'dead' else 'succeeded' end,
       attempts = case when t.n % 53 = 0 then 5 when incident and t.n % 3 = 0 then 3 when t.n % 9 = 0 then 2 else 1 end,
       available_at = t.at - interval '1 second' * ((t.n % 13) * 0.04 + case when incident then 6 else 0 end),
       attempted_at = t.at - interval '1 second' * 0.05,
       finished_at = t.at,
       last_error = case when t.n % 53 = 0 or (incident and t.n % 7 = 0)
                         then case t.queue when 'email' then 'resend http 422 code validation_error: The to address is invalid.'
                                                   else 'twilio http 400 code 21211: The ''To'' number is not a valid phone number.' end end,
       result = case when not (t.n % 53 = 0 or (incident and t.n % 7 = 0))
                     then jsonb_build_object('provider_message_id', 'seed-' || t.n) end
  from (select n, queue, at, at between now() - interval '75 minutes' and now() - interval '45 minutes' as incident
          from seed_traffic) t
 where (m.meta ->> 'seed')::int = t.n;

-- Delivery reports: most emails delivered, about 1 in 60 bounced, complaints on
-- a few days (some over Gmail's 0.3 %); SMS delivered or undelivered.
insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
select m.id,
       case m.queue when 'email' then 'resend' else 'twilio' end,
       'seed-' || t.n,
       case
         when m.queue = 'sms' then case when t.n % 41 = 0 then 'undelivered' else 'delivered' end
         when t.n % 61 = 0 then 'bounced'
         when t.n % 397 = 0 and extract(day from t.at)::int % 3 = 0 then 'complained'
         else 'delivered'
       end,
       t.at + interval '20 seconds', t.at + interval '21 seconds'
  from symphony.messages m
  join seed_traffic t on (m.meta ->> 'seed')::int = t.n
 where m.state = 'succeeded' and t.at < now() - interval '3 minutes';

-- The legacy email table, bridged under flag email_queue.
create table public.email_queue (
  id bigserial primary key,
  user_id text not null,
  recipient text not null,
  subject text not null,
  body text not null,
  status text not null default 'pending',
  sent_at timestamptz,
  provider_message_id text,
  error text,
  created_at timestamptz not null default now());
select symphony.install_bridge('email_queue', 'public.email_queue', 'email_queue', 'email.send',
  '{"to": "recipient", "subject": "subject", "html": "body", "from": {"const": "noreply@acme.test"}}',
  '{"subject_column": "user_id", "status_column": "status", "sent_at_column": "sent_at",
    "provider_id_column": "provider_message_id", "error_column": "error"}');

-- The rollout, by two operators: on at 10 % 55 minutes ago, 50 % at 35, 100 % at 15.
select set_config('symphony.actor', 'ana@acme.test', false);
update symphony.flags set enabled = true where name = 'symphony';
update symphony.flags set enabled = true, rollout_percent = 10 where name = 'email_queue';
select set_config('symphony.actor', 'raj@acme.test', false);
update symphony.flags set rollout_percent = 50 where name = 'email_queue';
select set_config('symphony.actor', 'ana@acme.test', false);
update symphony.flags set rollout_percent = 100 where name = 'email_queue';
select set_config('symphony.actor', '', false);
update symphony.flag_changes c
   set changed_at = now() - interval '1 minute' * case
         when c.flag = 'symphony' then 56
         when c.new_rollout_percent = 10 then 55
         when c.new_rollout_percent = 50 then 35
         else 15 end;

-- Bridged rows over the last hour: 12 a minute, routed by the percentage of the
-- time; legacy's cron takes about a minute, Symphony a second or two. Three rows
-- were handed back by a rollback, and legacy finished them.
insert into symphony.bridge_rows (bridge, source_id, subject, routed_to, owner, created_at, finished_at, outcome, handed_back_at)
select 'email_queue', g::text, 'user' || g,
       sys, case when g in (400, 401, 402) then 'legacy' else sys end,
       at, at + case when sys = 'legacy' or g in (400, 401, 402) then interval '1 second' * (40 + g % 50) else interval '1 second' * (0.8 + (g % 9) * 0.3) end,
       case when (sys = 'legacy' and g % 23 = 0) or (sys = 'symphony' and g % 71 = 0) then 'failed' else 'succeeded' end,
       case when g in (400, 401, 402) then at + interval '5 seconds' end
  from (select g, now() - interval '60 minutes' + g * interval '5 seconds' as at from generate_series(1, 700) g) s,
       lateral (select case
                  when at < now() - interval '55 minutes' then 'legacy'
                  when (g * 37) % 100 < case when at < now() - interval '35 minutes' then 10
                                      when at < now() - interval '15 minutes' then 50 else 100 end then 'symphony'
                  else 'legacy' end as sys) r;
update symphony.bridge_rows set routed_to = 'symphony' where source_id in ('400', '401', '402');

-- Campaigns: a finished one, a paused one, and one running now with failures.
insert into symphony.campaigns (name, "from", subject, "text", status, started_at, completed_at, created_at) values
  ('November digest', 'news@acme.test', 'What happened in November', 'Hello', 'draft', null, null, now() - interval '6 days'),
  ('Winter sale', 'news@acme.test', 'Winter sale', 'Hello', 'draft', null, null, now() - interval '2 days'),
  ('December newsletter', 'news@acme.test', 'December at Acme', 'Hello', 'draft', null, null, now() - interval '1 hour');
insert into symphony.campaign_recipients (campaign_id, email)
select c.id, 'reader' || g || '@example.com'
  from symphony.campaigns c,
       lateral generate_series(1, case c.name when 'December newsletter' then 480 when 'Winter sale' then 150 else 220 end) g;
-- Each email as symphony.campaign_enqueue queues it: meta and dedupe key name the
-- campaign and the recipient.
insert into symphony.messages (kind, payload, meta, priority, dedupe_key)
select 'email.send', jsonb_build_object('to', r.email, 'from', 'news@acme.test', 'subject', 'News', 'text', 'Hello'),
       jsonb_build_object('campaign_id', r.campaign_id, 'recipient_id', r.id), -1,
       format('campaign:%s:%s', r.campaign_id, r.id)
  from symphony.campaign_recipients r
  join symphony.campaigns c on c.id = r.campaign_id
 where (c.name = 'December newsletter' and r.id % 20 <> 0)
    or c.name = 'November digest'
    or (c.name = 'Winter sale' and r.id % 3 = 0);
update symphony.campaign_recipients r set status = 'queued', message_id = m.id
  from symphony.messages m where (m.meta ->> 'recipient_id')::bigint = r.id;
update symphony.campaign_recipients r set status = case when r.id % 40 = 0 then 'skipped' else 'failed' end,
       error = case when r.id % 40 = 0 then 'suppressed' else 'template could not render' end
  from symphony.campaigns c
 where c.id = r.campaign_id and c.name = 'December newsletter' and r.status = 'pending' and r.id % 20 = 0
   and r.id % 60 <> 0;
-- The running campaign has sent 300 so far; the rest wait. Some died.
update symphony.messages m
   set state = case when r.id % 37 = 0 then 'dead' else 'succeeded' end,
       attempts = 1, attempted_at = now() - interval '1 minute' * (r.id % 30), available_at = now() - interval '1 minute' * (r.id % 30),
       finished_at = now() - interval '1 minute' * (r.id % 30),
       last_error = case when r.id % 37 = 0 then 'resend http 422 code validation_error: The to address is invalid.' end,
       result = case when r.id % 37 <> 0 then jsonb_build_object('provider_message_id', 'camp-' || r.id,
                  'delivery', jsonb_build_object('status', case when r.id % 50 = 0 then 'bounced' when r.id % 97 = 0 then 'complained'
                                                               when r.id % 4 = 0 then 'sent' else 'delivered' end)) end
  from symphony.campaign_recipients r
  join symphony.campaigns c on c.id = r.campaign_id
 where m.id = r.message_id and (c.name <> 'December newsletter' or r.id % 480 < 300);
insert into symphony.suppressions (channel, address, reason, source)
select 'email', r.email, 'unsubscribed', 'seed'
  from symphony.campaign_recipients r join symphony.campaigns c on c.id = r.campaign_id
 where c.name = 'December newsletter' and r.id % 33 = 0 and r.status = 'queued';
-- The counts campaign_enqueue and campaign_batch keep on the campaign.
update symphony.campaigns c
   set queued = (select count(*) from symphony.campaign_recipients r where r.campaign_id = c.id and r.status = 'queued'),
       skipped = (select count(*) from symphony.campaign_recipients r where r.campaign_id = c.id and r.status = 'skipped'),
       failed = (select count(*) from symphony.campaign_recipients r where r.campaign_id = c.id and r.status = 'failed');
update symphony.campaigns set status = 'running', started_at = now() - interval '30 minutes'
 where name = 'December newsletter';
update symphony.campaigns set status = 'running', started_at = now() - interval '2 days' where name = 'Winter sale';
update symphony.campaigns set status = 'paused', paused_at = now() - interval '1 day' where name = 'Winter sale';
update symphony.campaigns set status = 'completed', started_at = now() - interval '6 days',
       completed_at = now() - interval '6 days' + interval '40 minutes' where name = 'November digest';

-- The running campaign went out through Resend's batch endpoint: its sent and
-- dead emails of the last half hour in requests of up to 100, as the sidecar
-- records them; the newest request not answered yet.
insert into symphony.provider_batches (provider, queue, idempotency_key, message_ids, attempts, created_at, called_at, finished_at, outcome)
select 'resend', 'email', 'symphony-seed-batch-' || b, array_agg(id order by id), 1,
       min(finished_at) - interval '1 second', min(finished_at) - interval '1 second',
       case when b > 0 then min(finished_at) end, case when b > 0 then 'answered' end
  from (select m.id, m.finished_at, (row_number() over (order by m.id) - 1) / 100 as b
          from symphony.messages m
         where m.meta ? 'campaign_id' and m.finished_at > now() - interval '30 minutes'
           and m.meta ->> 'campaign_id' = (select id::text from symphony.campaigns where name = 'December newsletter')) s
 group by b;

-- The providers' reports on the campaigns' emails.
insert into symphony.delivery_events (message_id, provider, event_key, status, occurred_at, received_at)
select m.id, 'resend', 'camp-' || m.id, m.result -> 'delivery' ->> 'status', m.finished_at + interval '20 seconds',
       m.finished_at + interval '21 seconds'
  from symphony.messages m
 where m.meta ? 'campaign_id' and m.result -> 'delivery' ->> 'status' in ('delivered', 'bounced', 'complained')
   and m.finished_at < now() - interval '3 minutes';

-- An SMS drip of three steps, 120 phones part way through it.
insert into symphony.drips (name) values ('Onboarding SMS');
insert into symphony.drip_steps (drip_id, position, delay, body)
select id, p, d, b from symphony.drips,
       (values (0, interval '0', 'Welcome to Acme!'), (1, interval '1 day', 'Tip: set up your profile.'),
               (2, interval '3 days', 'Need help? Reply HELP.')) s(p, d, b)
 where name = 'Onboarding SMS';
insert into symphony.drip_enrollments (drip_id, phone)
select d.id, '+1415666' || lpad(g::text, 4, '0') from symphony.drips d, generate_series(1, 120) g;
update symphony.drip_enrollments e
   set steps_sent = s.sent, status = s.status,
       next_step = case when s.status = 'active' then s.sent end,
       next_at = case when s.status = 'active' then now() + interval '1 hour' end,
       ended_at = case when s.status <> 'active' then now() - interval '1 hour' end,
       end_reason = case when s.status <> 'active' then s.status end
  from (select id,
               case when id % 10 < 4 then 3 when id % 10 < 6 then 2 when id % 10 < 8 then 1 else 1 end as sent,
               case when id % 10 < 4 then 'completed' when id % 10 = 9 then 'opted_out' else 'active' end as status
          from symphony.drip_enrollments) s
 where e.id = s.id;

-- The shared rate limits. Resend stated the team's 10 requests a second in its
-- headers (the bucket keeps to 9); Twilio limits the requests an account has
-- in flight, and the SMS bucket learned 100 from its 429s an hour ago.
update symphony.rate_limits
   set learned_per_second = 9, learned_max = 9, learned_source = 'ratelimit-limit header',
       learned_at = now() - interval '2 days'
 where name = 'email';
update symphony.rate_limits
   set learned_concurrency = 100, concurrency_refused_at = now() - interval '1 hour'
 where name = 'sms';

drop table seed_traffic;
