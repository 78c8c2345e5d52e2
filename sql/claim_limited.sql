-- claim.sql within the tokens of rate-limit bucket $5, in one statement (see
-- sidecar/queue.Store.ClaimLimited): take up to $2 tokens, a message each,
-- claim at most as many messages, give back the tokens of those the backlog
-- did not have. A row per message, each with the grant and take_tokens's
-- wait; claiming nothing, one row of them alone.
with t as (
  select granted, wait_ms from symphony.take_tokens($5, $2)
),
locked as (
-- claim_rows.sql here
),
-- The first of them the grant covers. The rows are chosen with the limit $2,
-- which the planner sees: limited by the grant there, it planned for a tenth
-- of the pending rows, and the update hashed the whole table (150 ms). Those
-- past the grant were locked for this statement only and stay pending.
next as (
  select ctid from locked limit (select granted from t)
),
claimed as (
-- claimed.sql here
),
given as (
  select symphony.give_tokens($5, t.granted - (select count(*) from claimed)::integer) from t
)
-- Highest priority first, as claim_rows.sql chose them (the update returns
-- rows as they lie on disk): the slots take them in this order.
select c.*, t.granted, t.wait_ms
  from t
  left join claimed c on true
 where (select count(*) from given) >= 0
 order by c.priority desc, c.id
