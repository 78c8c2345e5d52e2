-- Take up to $2 tokens from bucket $1: (granted, wait_ms when none).
select granted, wait_ms from symphony.take_tokens($1, $2)
