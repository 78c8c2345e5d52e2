-- Return expired leases to pending (or dead after the last attempt); returns how many.
select symphony.rescue_expired() as rescued
