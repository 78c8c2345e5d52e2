-- The newest campaign actions (symphony.campaign_actions), at most $1.
select a.campaign_id, coalesce(c.name, '(deleted)') as name, a.action, a.actor, a.at, a.detail
  from symphony.campaign_actions a
  left join symphony.campaigns c on c.id = a.campaign_id
 order by a.id desc
 limit $1
