-- Every rate-limit bucket: the rate in force and where it comes from, what was
-- learned from the provider, and where the search of a provider that states
-- no limit stands (its bounds, a running trial, lone 429s ignored), for
-- /status, the dashboard and /metrics.
select name,
       coalesce(per_second, learned_per_second)::float8,
       case when per_second is not null then 'operator'
            when learned_per_second is not null then 'learned'
            else 'none' end,
       per_second::float8, burst,
       learned_per_second::float8, learned_max::float8, coalesce(learned_source, ''), learned_at,
       coalesce(paused_until > now(), false),
       refused_rate::float8, accepted_rate::float8,
       trial_at, case when trial_at is not null then trial_rate end::float8,
       case when noise_until > now() then noise_until end
  from symphony.rate_limits
 order by name
