-- Every rate-limit bucket: the rate in force and where it comes from, and what
-- was learned from the provider, for /status, the dashboard and /metrics.
select name,
       coalesce(per_second, learned_per_second)::float8,
       case when per_second is not null then 'operator'
            when learned_per_second is not null then 'learned'
            else 'none' end,
       per_second::float8, burst,
       learned_per_second::float8, learned_max::float8, coalesce(learned_source, ''), learned_at,
       coalesce(paused_until > now(), false)
  from symphony.rate_limits
 order by name
