-- Return expired leases to pending (or dead after the last attempt).
select symphony.rescue_expired()
