-- Messages in flight in every sidecar (read by drain until it reaches zero).
select count(*) from symphony.messages where state = 'processing'
