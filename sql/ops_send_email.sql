-- Dispatch a test email: $1 to, $2 from, $3 subject, $4 text, $5 html.
select symphony.send_email($1, $2, $3, $4, $5)
