-- Second half, in the same transaction: dispatch the rendered emails $4 for
-- recipients $3 (or fail them with errors $5), record progress, chain the next
-- batch or complete campaign $1 (message $2, time $6).
select symphony.campaign_enqueue($1, $2, $3::bigint[], $4::jsonb[], $5::text[], $6)
