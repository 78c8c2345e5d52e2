-- Operator actions on messages are audited with the actor.
begin;
create extension if not exists pgtap;
select plan(7);

create temp table ids as
select symphony.send_sms('+14155550100', 'one') as a, symphony.send_sms('+14155550100', 'two') as b;

set local symphony.actor = 'ops@acme.test';
select ok(symphony.cancel((select a from ids), 'customer asked'), 'a pending message can be cancelled');
select results_eq($$select action, actor, detail from symphony.message_actions where message_id = (select a from ids)$$,
  $$values ('cancel'::text, 'ops@acme.test'::text, 'customer asked'::text)$$, 'the cancel is audited with who and why');
select ok(symphony.retry((select a from ids)), 'a cancelled message can be retried');
select is((select actor from symphony.message_actions where message_id = (select a from ids) and action = 'retry'), 'ops@acme.test',
  'the retry is audited');
select ok(not symphony.retry((select b from ids)), 'a pending message is not "retried"');
select is((select count(*)::int from symphony.message_actions where message_id = (select b from ids)), 0,
  'and nothing is audited for an action that did nothing');

update symphony.messages set state = 'processing', attempts = 1, locked_by = 'w', locked_until = now() + interval '1 minute'
 where id = (select b from ids);
update symphony.messages set state = 'dead', finished_at = now(), locked_by = null, locked_until = null, last_error = 'boom'
 where id = (select b from ids);
select symphony.remove_dead((select b from ids));
select results_eq($$select action, detail from symphony.message_actions where message_id = (select b from ids)$$,
  $$values ('remove'::text, 'boom'::text)$$, 'a removal is audited, with the reason the message died, after the row is gone');

select * from finish();
rollback;
