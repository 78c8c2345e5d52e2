-- Many suppression checks in one statement (see suppressed.sql for one).
-- Element k of the arrays is one address to check: $1[k] numbers the check it
-- belongs to, $2[k] is its channel, $3[k] the address as the message named it,
-- $4[k] whether that message is transactional (an "unsubscribed" does not stop
-- it). One primary-key lookup per address.
select r.req, r.input, s.reason
  from unnest($1::integer[], $2::text[], $3::text[], $4::boolean[]) as r(req, channel, input, transactional)
  join symphony.suppressions s
    on s.channel = r.channel and s.address = symphony.normalize_address(r.channel, r.input)
 where not (r.transactional and s.reason = 'unsubscribed')
