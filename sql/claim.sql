-- Claim up to $2 due messages of queue $1 for worker $3 under a lease of $4 ms:
-- the rows of claim_rows.sql, claimed by claimed.sql.
with next as (
-- claim_rows.sql here
)
-- claimed.sql here
