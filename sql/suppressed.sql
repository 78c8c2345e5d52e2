-- Which of addresses $2 are suppressed on channel $1, and why. $3: the message
-- is transactional, so an "unsubscribed" does not stop it.
select r.input, s.reason
  from (select $1::text as channel, a.input, $3::boolean as transactional
          from unnest($2::text[]) as a(input)) as r
-- suppressed_by.sql here
