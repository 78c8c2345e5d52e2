-- Many suppression checks in one statement (see suppressed.sql for one).
-- Element k of the arrays is one address to check: $1[k] numbers the check it
-- belongs to, $2[k] is its channel, $3[k] the address as the message named it,
-- $4[k] whether that message is transactional (an "unsubscribed" does not stop
-- it).
select r.req, r.input, s.reason
  from unnest($1::integer[], $2::text[], $3::text[], $4::boolean[]) as r(req, channel, input, transactional)
-- suppressed_by.sql here
