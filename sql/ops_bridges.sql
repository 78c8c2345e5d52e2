-- Every bridge and the flag that routes it.
select name, flag from symphony.bridges order by name
