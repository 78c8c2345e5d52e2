-- Campaigns: templates and recipients checked at insert, fan-out exactly once per
-- recipient, pacing, pause/resume/cancel, completion and progress. The fan-out is
-- driven here by calling the functions the campaign.process handler calls, with an
-- explicit clock.
begin;
create extension if not exists pgtap;
select plan(47);

update symphony.flags set enabled = true where name = 'symphony';

-- A rendered email for a recipient, as the sidecar would send it.
create function pg_temp.email(rid bigint) returns jsonb language sql as $$
  select jsonb_build_object('to', email, 'from', 'news@example.com', 'subject', 'Hi', 'text', 'Hello')
    from symphony.campaign_recipients where id = rid
$$;
-- One batch as the handler does it: campaign_batch, then campaign_enqueue with a
-- payload for every recipient returned.
create function pg_temp.run_batch(cid bigint, mid bigint, t timestamptz default now()) returns jsonb language plpgsql as $$
declare
  b jsonb := symphony.campaign_batch(cid, mid, t);
  ids bigint[];
begin
  if b ->> 'action' <> 'send' then
    return b;
  end if;
  ids := array(select (r ->> 'id')::bigint from jsonb_array_elements(b -> 'recipients') r);
  return symphony.campaign_enqueue(cid, mid, ids, array(select pg_temp.email(i) from unnest(ids) i),
                                   array(select null::text from unnest(ids)), t);
end $$;
create function pg_temp.chain(cid bigint) returns bigint language sql as $$
  select process_message_id from symphony.campaigns where id = cid
$$;

-- ---------------------------------------------------------------------------
-- Kinds and payloads.
-- ---------------------------------------------------------------------------
select results_eq($$select kind, queue from symphony.kinds where kind in ('campaign.process', 'drip.step') order by kind$$,
  $$values ('campaign.process'::text, 'campaign'::text), ('drip.step', 'drip')$$,
  'campaign.process and drip.step are registered on queues campaign and drip');
select throws_like($$insert into symphony.messages (kind, payload) values ('campaign.process', '{"campaign_id": "7"}')$$,
  '%"campaign_id" must be a positive whole number%', 'campaign.process: a non-numeric campaign_id is refused, naming the field');
select throws_like($$insert into symphony.messages (kind, payload) values ('campaign.process', '{"campaign_id": 7, "action": "go"}')$$,
  '%"action" is not a field of campaign.process%', 'campaign.process: an unknown field is refused');
select throws_like($$insert into symphony.messages (kind, payload) values ('drip.step', '{"enrollment_id": 7}')$$,
  '%"step" must be a whole number%', 'drip.step: a missing step is refused');

-- ---------------------------------------------------------------------------
-- Templates.
-- ---------------------------------------------------------------------------
select is(symphony.template_variables('t', 'Hi {{ first_name }}, {{last}} and {{first_name}} {{{x}}}'),
  array['first_name', 'last', 'x'], 'template_variables: distinct names in order of first use, spaces allowed');
select throws_like($$select symphony.template_variables('campaign html', '<p>{{ first name }}</p>')$$,
  '%campaign html has a malformed template tag near ''{{ first name }}%', 'a malformed tag is refused, naming the field');
select throws_like($$select symphony.template_variables('x', 'a {{{b}}{')$$, '%malformed%',
  'a stray {{ left after removing tags is refused');
insert into symphony.templates (name, channel, subject, html, "text")
values ('tap-welcome', 'email', 'Welcome {{first_name}}', '<p>Hi {{first_name}}</p><a href="{{unsubscribe_url}}">stop</a>', 'Hi {{first_name}}');
select is((select variables from symphony.templates where name = 'tap-welcome'), array['first_name', 'unsubscribe_url'],
  'a template records its variables');
select throws_ok($$insert into symphony.templates (name, channel, subject, body) values ('tap-sms', 'sms', 'x', 'y')$$,
  '23514', null, 'an sms template has a body and no subject');

-- ---------------------------------------------------------------------------
-- Campaigns and recipients are checked at insert.
-- ---------------------------------------------------------------------------
insert into symphony.campaigns (name, "from", template, unsubscribe_url, batch_size)
values ('tap-c1', 'News <news@example.com>', 'tap-welcome', 'https://app.example/u?r={{recipient_id}}', 2);
select results_eq($$select subject, status, variables from symphony.campaigns where name = 'tap-c1'$$,
  $$values ('Welcome {{first_name}}'::text, 'draft'::text, array['first_name', 'recipient_id', 'unsubscribe_url'])$$,
  'a campaign naming a template copies its content and starts as draft');
select throws_like($$insert into symphony.campaigns (name, "from", template, subject, "text") values ('x', 'a@example.com', 'tap-welcome', 's', 't')$$,
  '%either content%or a template, not both%', 'content and a template together are refused');
select throws_like($$insert into symphony.campaigns (name, "from", subject, "text") values ('x', 'a@example.com', 'Hi {{name}}', 'x {{unsubscribe_url}}')$$,
  '%uses {{unsubscribe_url}} but the campaign has no unsubscribe_url%', 'using {{unsubscribe_url}} needs an unsubscribe_url');
select throws_like($$insert into symphony.campaigns (name, "from", subject, "text", status) values ('x', 'a@example.com', 's', 't', 'running')$$,
  '%starts as draft%', 'a campaign cannot be inserted already running');
select throws_ok($$insert into symphony.campaigns (name, "from", subject, "text", unsubscribe_url) values ('x', 'a@example.com', 's', 't', 'http://insecure.example/u')$$,
  '23514', null, 'the unsubscribe URL must be https (RFC 8058 one-click)');

create temp table c as select id from symphony.campaigns where name = 'tap-c1';
insert into symphony.campaign_recipients (campaign_id, email, data)
select (select id from c), format('User%s <User%s@Example.com>', n, n), jsonb_build_object('first_name', 'U' || n)
  from generate_series(1, 7) n;
select is((select array_agg(email order by id) from symphony.campaign_recipients where campaign_id = (select id from c)),
  array(select format('user%s@example.com', n) from generate_series(1, 7) n),
  'recipient addresses are stored bare and lower-case');
select throws_like(format($$insert into symphony.campaign_recipients (campaign_id, email, data) values (%s, 'x@example.com', '{"name": "X"}')$$, (select id from c)),
  '%uses {{first_name}}, which recipient x@example.com has no value for%', 'a recipient missing a variable is refused, naming it');
select throws_ok(format($$insert into symphony.campaign_recipients (campaign_id, email, data) values (%s, 'USER1@example.com', '{"first_name": "A"}')$$, (select id from c)),
  '23505', null, 'an address is in a campaign once, whatever its case');
select throws_like(format($$insert into symphony.campaign_recipients (campaign_id, email) values (%s, 'not-an-address')$$, (select id from c)),
  '%"email" is not an email address%', 'a recipient that is not an address is refused');

-- ---------------------------------------------------------------------------
-- Fan-out.
-- ---------------------------------------------------------------------------
insert into symphony.suppressions (channel, address, reason) values ('email', 'user2@example.com', 'unsubscribed');
select ok(symphony.start_campaign((select id from c), now() + interval '1 hour') is not null, 'start_campaign schedules the campaign');
select results_eq($$select m.kind, m.queue, m.available_at = now() + interval '1 hour', m.payload
                    from symphony.messages m where m.id = pg_temp.chain((select id from c))$$,
  $$select 'campaign.process'::text, 'campaign'::text, true, jsonb_build_object('campaign_id', (select id from c))$$,
  'its campaign.process message is due at the scheduled time');
select is(symphony.campaign_batch((select id from c), pg_temp.chain((select id from c)), now()) ->> 'action', 'wait',
  'a batch before the scheduled time waits');

create temp table m1 as select pg_temp.chain((select id from c)) as id;
select is(pg_temp.run_batch((select id from c), (select id from m1), now() + interval '1 hour') ->> 'queued', '2',
  'the first batch queues 2 emails, passing over the suppressed address');
select results_eq($$select status, error from symphony.campaign_recipients where email = 'user2@example.com' and campaign_id = (select id from c)$$,
  $$values ('skipped'::text, 'suppressed: unsubscribed'::text)$$, 'the suppressed recipient is skipped with the reason');
select results_eq($$select distinct m.kind, m.priority, m.dedupe_key = format('campaign:%s:%s', r.campaign_id, r.id), m.meta ->> 'recipient_id' = r.id::text
                    from symphony.campaign_recipients r join symphony.messages m on m.id = r.message_id
                   where r.campaign_id = (select id from c) and r.status = 'queued'$$,
  $$values ('email.send'::text, -1::smallint, true, true)$$,
  'a queued recipient has its email.send: priority -1, dedupe_key campaign:<id>:<recipient>, recipient in meta');
select is((select status from symphony.campaigns where id = (select id from c)), 'running', 'the campaign is running');

-- A stale or duplicate campaign.process message does nothing.
select is(symphony.campaign_batch((select id from c), (select id from m1), now() + interval '1 hour') ->> 'action', 'stop',
  'the message that ran the last batch is superseded by the next one');
select throws_ok(format('select symphony.campaign_enqueue(%s, %s, ''{}'', ''{}'', ''{}'')', (select id from c), (select id from m1)),
  '55000', null, 'campaign_enqueue refuses a superseded message');

-- Pacing: the next batch waits while more than half of the last is unsent.
select is(symphony.campaign_batch((select id from c), pg_temp.chain((select id from c)), now() + interval '1 hour') ->> 'action', 'wait',
  'the next batch waits while the last one is unsent');
update symphony.messages set state = 'succeeded', finished_at = now()
 where id in (select message_id from symphony.campaign_recipients where campaign_id = (select id from c) and status = 'queued');
select is(pg_temp.run_batch((select id from c), pg_temp.chain((select id from c)), now() + interval '1 hour') ->> 'queued', '2',
  'once it is sent, the next batch goes');

-- Pause holds queued emails not yet claimed; resume releases them.
select ok(symphony.pause_campaign((select id from c)), 'pause_campaign pauses a running campaign');
select is((select count(*)::int from symphony.messages m join symphony.campaign_recipients r on r.message_id = m.id
            where r.campaign_id = (select id from c) and m.state = 'pending' and m.available_at = '9999-12-31 00:00:00+00'), 2,
  'pausing holds the campaign''s pending emails');
select is(symphony.campaign_batch((select id from c), pg_temp.chain((select id from c)), now() + interval '1 hour') ->> 'reason',
  format('campaign %s is paused', (select id from c)), 'a paused campaign processes no batch');
select ok(symphony.resume_campaign((select id from c)), 'resume_campaign resumes it');
select is((select count(*)::int from symphony.messages m join symphony.campaign_recipients r on r.message_id = m.id
            where r.campaign_id = (select id from c) and m.state = 'pending' and m.available_at <= now()), 2,
  'resuming releases the held emails');
select throws_ok(format($$update symphony.campaigns set subject = 'Changed' where id = %s$$, (select id from c)),
  '55000', null, 'a running campaign''s content cannot change');

-- Re-running batches never queues a recipient twice, and the last one completes the campaign.
update symphony.messages set state = 'succeeded', finished_at = now()
 where id in (select message_id from symphony.campaign_recipients where campaign_id = (select id from c) and status = 'queued')
   and state = 'pending';
select is(pg_temp.run_batch((select id from c), pg_temp.chain((select id from c)), now() + interval '1 hour') ->> 'more', 'false',
  'the last batch says nothing more is pending');
select results_eq($$select status, completed_at is not null, process_message_id, queued, skipped, batches from symphony.campaigns where id = (select id from c)$$,
  $$values ('completed'::text, true, null::bigint, 6, 1, 3)$$, 'the campaign is completed with its progress recorded');
select is((select count(*)::int from symphony.messages m join symphony.campaign_recipients r on m.dedupe_key = format('campaign:%s:%s', r.campaign_id, r.id)
            where r.campaign_id = (select id from c)), 6, 'exactly one email per queued recipient');
select results_eq($$select recipients, pending, queued, skipped, sent, sending from symphony.campaign_progress where id = (select id from c)$$,
  $$values (7::bigint, 0::bigint, 6::bigint, 1::bigint, 4::bigint, 2::bigint)$$, 'campaign_progress counts recipients and deliveries');
select throws_like(format($$insert into symphony.campaign_recipients (campaign_id, email, data) values (%s, 'late@example.com', '{"first_name": "L"}')$$, (select id from c)),
  '%is completed; it takes no more recipients%', 'a completed campaign takes no more recipients');

-- ---------------------------------------------------------------------------
-- Render failures and refused payloads fail their recipient only; cancel.
-- ---------------------------------------------------------------------------
insert into symphony.campaigns (name, "from", subject, "text", batch_size) values ('tap-c2', 'news@example.com', 'Hi', 'Hello', 10);
create temp table c2 as select id from symphony.campaigns where name = 'tap-c2';
insert into symphony.campaign_recipients (campaign_id, email) select (select id from c2), format('c2-%s@example.com', n) from generate_series(1, 4) n;
select ok(symphony.start_campaign((select id from c2)) is not null, 'start_campaign starts a campaign now');
create temp table r2 as select array_agg(id order by id) as ids from symphony.campaign_recipients where campaign_id = (select id from c2);
select is(jsonb_array_length(symphony.campaign_batch((select id from c2), pg_temp.chain((select id from c2))) -> 'recipients'), 4,
  'a batch returns up to batch_size pending recipients');
select is(symphony.campaign_enqueue((select id from c2), pg_temp.chain((select id from c2)), (select ids[1:3] from r2),
    array[pg_temp.email((select ids[1] from r2)), '{"to": "bad"}'::jsonb, null],
    array[null, null, 'template: no value for {{first_name}}']) ->> 'queued', '1',
  'only the payload the schema accepts is queued');
select results_eq($$select status, error like '%"to" is not an email address%' or error like '%no value for%'
                    from symphony.campaign_recipients where id in (select unnest(ids[2:3]) from r2) order by id$$,
  $$values ('failed'::text, true), ('failed', true)$$, 'a refused payload or a render error fails its recipient with the reason');
select ok(symphony.cancel_campaign((select id from c2), 'wrong list'), 'cancel_campaign cancels a running campaign');
select results_eq($$select r.status, m.state, m.cancelled_by is not null from symphony.campaign_recipients r
                    left join symphony.messages m on m.id = r.message_id where r.id in (select unnest(ids) from r2) order by r.id$$,
  $$values ('queued'::text, 'cancelled'::text, true), ('failed', null, false), ('failed', null, false), ('cancelled', null, false)$$,
  'cancelling cancels queued emails not yet sent and pending recipients');
select is((select state from symphony.messages where id = (select max(id) from symphony.messages where kind = 'campaign.process' and payload ->> 'campaign_id' = (select id from c2)::text)),
  'cancelled', 'and the campaign''s next campaign.process message');

select * from finish();
rollback;
