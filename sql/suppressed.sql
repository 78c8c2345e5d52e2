-- Which of addresses $2 are suppressed on channel $1, and why. $3: the message
-- is transactional, so an "unsubscribed" does not stop it. One primary-key
-- lookup per address.
select a.input, s.reason
  from unnest($2::text[]) as a(input)
  join symphony.suppressions s
    on s.channel = $1 and s.address = symphony.normalize_address($1, a.input)
 where not ($3::boolean and s.reason = 'unsubscribed')
