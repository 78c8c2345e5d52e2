-- Claim up to $2 due messages of queue $1 for worker $3, lease $4 ms, within
-- the tokens of rate-limit bucket $5 (null: none), all in one statement; see
-- sidecar/queue.Store.ClaimLimited. The claim itself is claimed.sql.
with t as (
  select granted, wait_ms from symphony.take_tokens($5, $2) where $5::text is not null
  union all
  select $2, 0 where $5::text is null
),
next as (
  select ctid
    from symphony.messages
   where state = 'pending'
     and queue = $1
     and available_at <= now()
     and exists (select 1 from symphony.flags where name = 'symphony' and enabled)
   order by priority desc, available_at, id
   limit (select granted from t)
   for update skip locked
),
claimed as (
-- claimed.sql here
),
given as (
  select symphony.give_tokens($5, t.granted - (select count(*) from claimed)::integer)
    from t
   where $5::text is not null
)
-- Highest priority first, as the claim chose them (the update returns rows as
-- they lie on disk): the slots take them in this order.
select c.*, t.granted, t.wait_ms
  from t
  left join claimed c on true
 where (select count(*) from given) >= 0
 order by c.priority desc, c.id
