-- The campaigns view's query before the counts were rolled up (issue 18): each
-- shown campaign's recipients looked up live, one message by primary key each.
-- Kept for the dashboard benchmark only, to time it beside the page in one run.
-- Campaigns still to finish and those finished within $2, newest first, at most
-- $1, each recipient counted once under its furthest state: skipped, failed
-- (refused or dead), cancelled, queued (not sent yet), or sent and then by its
-- delivery: complained, unsubscribed (after the campaign started), bounced,
-- delivered, or sent with no delivery report yet.
with c as (
  select id, name, status, paused_reason, created_at, started_at, completed_at, cancelled_at, cancelled_by
    from symphony.campaigns
   where status in ('draft', 'scheduled', 'running', 'paused')
      or coalesce(completed_at, cancelled_at, created_at) > now() - $2::bigint * interval '1 millisecond'
   order by id desc
   limit $1
), r as (
  -- LATERAL with OFFSET 0 / LIMIT 1 keeps these per-row index lookups: a join
  -- the planner could flatten might read all of symphony.messages instead.
  select c.id as campaign_id,
         case
           when r.status = 'skipped' then 'skipped'
           when r.status = 'failed' or m.state = 'dead' then 'failed'
           when r.status = 'cancelled' or m.state = 'cancelled' then 'cancelled'
           when r.status = 'pending' or m.state in ('pending', 'processing') then 'queued'
           when m.delivery = 'complained' then 'complained'
           when s.unsubscribed then 'unsubscribed'
           when m.delivery in ('bounced', 'undelivered') then 'bounced'
           when m.delivery = 'delivered' then 'delivered'
           else 'sent'
         end as class
    from c
   cross join lateral (select r.email, r.status, r.message_id from symphony.campaign_recipients r
                        where r.campaign_id = c.id offset 0) r
    left join lateral (select m.state, m.result -> 'delivery' ->> 'status' as delivery from symphony.messages m
                        where m.id = r.message_id limit 1) m on true
    left join lateral (select true as unsubscribed from symphony.suppressions s
                        where s.channel = 'email' and s.address = r.email and s.reason = 'unsubscribed'
                          and s.created_at >= c.started_at limit 1) s on true
)
select c.id, c.name, c.status, c.paused_reason, c.created_at, c.started_at, c.completed_at, c.cancelled_at, c.cancelled_by,
       count(r.class) as recipients,
       count(*) filter (where r.class = 'queued') as queued,
       count(*) filter (where r.class = 'sent') as sent,
       count(*) filter (where r.class = 'delivered') as delivered,
       count(*) filter (where r.class = 'bounced') as bounced,
       count(*) filter (where r.class = 'complained') as complained,
       count(*) filter (where r.class = 'unsubscribed') as unsubscribed,
       count(*) filter (where r.class = 'skipped') as skipped,
       count(*) filter (where r.class = 'failed') as failed,
       count(*) filter (where r.class = 'cancelled') as cancelled
  from c
  left join r on r.campaign_id = c.id
 group by c.id, c.name, c.status, c.paused_reason, c.created_at, c.started_at, c.completed_at, c.cancelled_at, c.cancelled_by
 order by c.id desc
