-- Per queue: pending (due now and later), processing, finished in the last 5
-- minutes, and the age of the oldest due message.
select queue,
       count(*) filter (where state = 'pending' and available_at <= now()) as due,
       count(*) filter (where state = 'pending' and available_at > now()) as scheduled,
       count(*) filter (where state = 'processing') as processing,
       coalesce(extract(epoch from now() - min(available_at) filter (
         where state = 'pending' and available_at <= now())), 0)::float8 as oldest_due_seconds
  from symphony.messages
 where state in ('pending', 'processing')
 group by queue
 order by queue
