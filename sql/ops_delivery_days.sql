-- Per day since $1 and channel: messages sent (from the message rollup: queues
-- email and sms) and delivery events by status (symphony.delivery_days).
select day, channel, 'sent' as status, sum(succeeded)::bigint as events
  from (select (minute at time zone 'UTC')::date as day, queue as channel, succeeded
          from symphony.message_minutes
         where minute >= $1::date and queue in ('email', 'sms')) m
 group by day, channel
union all
select day, channel, status, events::bigint
  from symphony.delivery_days
 where day >= $1::date
 order by day, channel, status
