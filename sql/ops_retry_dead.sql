-- Retry the dead messages among ids $1; returns each id with its state before and
-- whether it was retried. Only dead messages are retried here (symphony.retry also
-- takes cancelled ones; the failure commands deal with the failure queue only).
-- CASE, not AND: it guarantees the state is checked before retry runs.
select u.id, m.state,
       case when m.state = 'dead' then symphony.retry(u.id) else false end as done
  from unnest($1::bigint[]) with ordinality as u(id, ord)
  left join symphony.messages m on m.id = u.id
 order by u.ord
