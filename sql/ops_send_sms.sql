-- Dispatch a test SMS: $1 to, $2 body, $3 from (null: the provider's default).
select symphony.send_sms($1, $2, $3)
