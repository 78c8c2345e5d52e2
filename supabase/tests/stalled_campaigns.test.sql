-- A campaign whose campaign.process chain ended (its message dead, cancelled
-- or gone) is paused with the reason, by symphony.pause_stalled_campaigns (every
-- sidecar's campaign step runs it, handler.StalledCampaigns), and resume_campaign
-- starts a new chain.
begin;
create extension if not exists pgtap;
select plan(16);

create function pg_temp.campaign(name text) returns bigint language plpgsql as $$
declare
  cid bigint;
begin
  insert into symphony.campaigns (name, "from", subject, "text") values (name, 'news@example.com', 'Hi', 'Hello')
  returning id into cid;
  insert into symphony.campaign_recipients (campaign_id, email) values (cid, name || '-1@example.com'), (cid, name || '-2@example.com');
  perform symphony.start_campaign(cid);
  return cid;
end $$;
create function pg_temp.chain(cid bigint) returns bigint language sql as $$
  select process_message_id from symphony.campaigns where id = cid
$$;
-- What a message's last failed attempt leaves behind.
create function pg_temp.kill(mid bigint, why text) returns void language sql as $$
  update symphony.messages set state = 'dead', last_error = why, finished_at = now(), attempts = max_attempts
   where id = mid
$$;

select pg_temp.campaign('tap-stall-dead') as dead \gset
select pg_temp.campaign('tap-stall-cancelled') as cancelled \gset
select pg_temp.campaign('tap-stall-gone') as gone \gset
select pg_temp.campaign('tap-stall-fine') as fine \gset
select pg_temp.chain(:dead) as dead_chain \gset

select is(symphony.pause_stalled_campaigns(), 0, 'campaigns whose chain is pending are left alone');

select pg_temp.kill(:dead_chain, 'campaign 1: template no longer renders');
select symphony.cancel(pg_temp.chain(:cancelled), 'by hand');
delete from symphony.messages where id = pg_temp.chain(:gone);

select is(symphony.pause_stalled_campaigns(), 3, 'three stalled campaigns paused');
select results_eq(format($$select status from symphony.campaigns where id in (%s, %s, %s) order by id$$, :dead, :cancelled, :gone),
  $$values ('paused'::text), ('paused'), ('paused')$$, 'each is paused');
select is((select status from symphony.campaigns where id = :fine), 'scheduled', 'the one with a live chain is not');
select is((select paused_reason from symphony.campaigns where id = :dead),
  format('its campaign.process message %s is dead: campaign 1: template no longer renders', :dead_chain),
  'paused_reason names the dead message and its error');
select matches((select paused_reason from symphony.campaigns where id = :cancelled), 'is cancelled: ',
  'a cancelled chain is named as such');
select matches((select paused_reason from symphony.campaigns where id = :gone), 'is gone$',
  'a purged chain message is named as gone');
select is(symphony.pause_stalled_campaigns(), 0, 'a second run finds nothing more to pause');

select ok(symphony.resume_campaign(:dead), 'resume_campaign resumes it');
select is((select paused_reason from symphony.campaigns where id = :dead), null, 'resuming clears paused_reason');
select isnt(pg_temp.chain(:dead), :dead_chain::bigint, 'resuming starts a new chain');
select is((select state from symphony.messages where id = pg_temp.chain(:dead)), 'pending', 'whose message is pending');
select is(symphony.pause_stalled_campaigns(), 0, 'the resumed campaign is not paused again');

-- The reason goes with the pause, however the campaign leaves it.
select ok(symphony.cancel_campaign(:cancelled), 'a paused campaign can be cancelled');
select is((select paused_reason from symphony.campaigns where id = :cancelled), null, 'cancelling clears paused_reason');
select is((select paused_reason from symphony.campaigns where id = :gone) is not null, true,
  'a campaign still paused keeps its reason');

select * from finish();
rollback;
