-- What every suppression check (suppressed.sql, suppressed_batch.sql,
-- suppressed_few.sql) does with the addresses it was given, rows r(channel,
-- input, transactional): one primary-key lookup per address, by its
-- normalized form; an "unsubscribed" does not stop a transactional message.
  join symphony.suppressions s
    on s.channel = r.channel and s.address = symphony.normalize_address(r.channel, r.input)
 where not (r.transactional and s.reason = 'unsubscribed')
