-- suppressed_batch.sql for a round of a few addresses, as an idle sidecar
-- checks one message at a time: the same join over one JSON array
-- parameter, with one object per address ({"req", "channel", "input",
-- "transactional"}, as suppressed_batch.sql's arrays hold them).
--
-- Over unnest() of array parameters PostgreSQL plans the statement afresh at
-- every call: the custom plan of one address always looks cheaper than the
-- generic one. A JSON parameter's rows are estimated alike either way, so
-- the generic plan stays: a check of one address took 0.08-0.11 ms instead
-- of 0.17-0.20 (a round trip, on the path of every message an idle sidecar
-- wakes up for). Parsing JSON costs about 1.5 µs more an address, so a round
-- of many goes by suppressed_batch.sql.
select r.req, r.input, s.reason
  from json_to_recordset($1::json) as r(req integer, channel text, input text, transactional boolean)
-- suppressed_by.sql here
