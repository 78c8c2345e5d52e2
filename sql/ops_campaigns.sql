-- Campaigns still to finish and those finished within $2, newest first, at most
-- $1, each recipient counted once under its furthest state: skipped, failed
-- (refused or dead), cancelled, queued (not sent yet), or sent and then by its
-- delivery: complained, unsubscribed (after the campaign started), bounced,
-- delivered, or sent with no delivery report yet.
--
-- The cost does not follow the recipients: the messages come from
-- symphony.campaign_counts (folded by symphony.roll_up) plus those finished
-- since its watermark (_campaigns_finished_recently); the recipient-level counts
-- from the campaign row (queued, skipped, failed) and the pending recipients'
-- partial index; unsubscribes since the start through their index. Delivery
-- reports count once rolled up (a minute or two later).
with c as (
  select id, name, status, paused_reason, created_at, started_at, completed_at, cancelled_at, cancelled_by,
         queued as queued_recipients, skipped as skipped_recipients, failed as failed_recipients
    from symphony.campaigns
   where status in ('draft', 'scheduled', 'running', 'paused')
      or coalesce(completed_at, cancelled_at, created_at) > now() - $2::bigint * interval '1 millisecond'
   order by id desc
   limit $1
), recent as (
  select campaign_id, succeeded, dead, cancelled from symphony._campaigns_finished_recently()
), k as (
  select c.*,
         coalesce(cc.sent, 0) + coalesce(f.succeeded, 0) as sent,
         coalesce(cc.delivered, 0) as delivered,
         coalesce(cc.bounced, 0) as bounced,
         coalesce(cc.complained, 0) as complained,
         coalesce(cc.failed, 0) + coalesce(f.dead, 0) as dead,
         coalesce(cc.cancelled, 0) + coalesce(f.cancelled, 0) as not_sent,
         p.pending, x.cancelled_recipients,
         coalesce(u.from_sent, 0) as unsub_sent, coalesce(u.from_delivered, 0) as unsub_delivered,
         coalesce(u.from_bounced, 0) as unsub_bounced
    from c
    left join symphony.campaign_counts cc on cc.campaign_id = c.id
    left join recent f on f.campaign_id = c.id
   cross join lateral (select count(*) as pending from symphony.campaign_recipients r
                        where r.campaign_id = c.id and r.status = 'pending') p
   cross join lateral (select count(*) as cancelled_recipients from symphony.campaign_recipients r
                        where c.status = 'cancelled' and r.campaign_id = c.id and r.status = 'cancelled') x
    left join lateral (
      -- Sent recipients who unsubscribed after the campaign started (a complaint outranks it).
      select count(*) filter (where d.rank < 3) as from_sent,
             count(*) filter (where d.rank = 3) as from_delivered,
             count(*) filter (where d.rank = 4) as from_bounced
        from symphony.suppressions s
        join symphony.campaign_recipients r on r.campaign_id = c.id and r.email = s.address and r.status = 'queued'
        join symphony.messages m on m.id = r.message_id and m.state = 'succeeded'
       cross join lateral (select coalesce(symphony.delivery_rank(m.result -> 'delivery' ->> 'status'), 0) as rank) d
       where s.reason = 'unsubscribed' and s.channel = 'email' and s.created_at >= c.started_at and d.rank < 5
    ) u on c.started_at is not null
)
select id, name, status, paused_reason, created_at, started_at, completed_at, cancelled_at, cancelled_by,
       queued + sent + delivered + bounced + complained + unsubscribed + skipped + failed + cancelled as recipients,
       queued, sent, delivered, bounced, complained, unsubscribed, skipped, failed, cancelled
  from (
    select k.id, k.name, k.status, k.paused_reason, k.created_at, k.started_at, k.completed_at, k.cancelled_at,
           k.cancelled_by,
           -- Queued: pending recipients, and queued ones whose message has not finished.
           k.pending + greatest(k.queued_recipients - (k.sent + k.delivered + k.bounced + k.complained + k.dead + k.not_sent), 0)
             as queued,
           greatest(k.sent - k.unsub_sent, 0) as sent,
           greatest(k.delivered - k.unsub_delivered, 0) as delivered,
           greatest(k.bounced - k.unsub_bounced, 0) as bounced,
           greatest(k.complained, 0) as complained,
           k.unsub_sent + k.unsub_delivered + k.unsub_bounced as unsubscribed,
           k.skipped_recipients::bigint as skipped,
           k.failed_recipients + k.dead as failed,
           k.cancelled_recipients + k.not_sent as cancelled
      from k
  ) q
 order by id desc
