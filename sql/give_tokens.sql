-- Return $2 unused tokens to bucket $1.
select symphony.give_tokens($1, $2)
