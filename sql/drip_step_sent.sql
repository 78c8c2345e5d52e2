-- Second half, in the same transaction: dispatch the step's SMS $3 (meta $4),
-- move enrollment $1 past step $2 and schedule the next step, at time $5.
select symphony.drip_step_sent($1, $2, $3::jsonb, $4::jsonb, $5)
