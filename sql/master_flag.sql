-- Is the master switch on?
select coalesce((select enabled from symphony.flags where name = 'symphony'), false)
