-- Delete the dead messages among ids $1 (symphony.remove_dead never touches any
-- other state); returns each id with its state before and whether it was removed.
select u.id, m.state,
       case when m.state = 'dead' then symphony.remove_dead(u.id) else false end as done
  from unnest($1::bigint[]) with ordinality as u(id, ord)
  left join symphony.messages m on m.id = u.id
 order by u.ord
