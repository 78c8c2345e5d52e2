-- Every drip's steps in order, with how many enrollments were sent each step,
-- wait for it now, and opted out while waiting for it.
with s as (
  select d.id as drip_id, d.name, st.position,
         (row_number() over (partition by d.id order by st.position) - 1)::int as idx
    from symphony.drips d
    join symphony.drip_steps st on st.drip_id = d.id
)
select s.drip_id, s.name, s.position, s.idx,
       count(e.id) filter (where e.steps_sent > s.idx) as sent,
       count(e.id) filter (where e.status = 'active' and e.next_step = s.position) as waiting,
       count(e.id) filter (where e.status = 'opted_out' and e.steps_sent = s.idx) as opted_out
  from s
  left join symphony.drip_enrollments e on e.drip_id = s.drip_id
 group by s.drip_id, s.name, s.position, s.idx
 order by s.name, s.position
