-- Fire every due schedule once; returns how many fired.
select symphony.run_schedules()
