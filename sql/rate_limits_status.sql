-- Every rate-limit bucket: the rate in force and where it comes from, what was
-- learned from the provider, where the search of a provider that states no
-- limit stands (its bounds, a running trial, lone 429s ignored), whether
-- another client spends a stated limit too, and the account's concurrency
-- learned from a provider that limits requests in flight (Twilio), for
-- /status, the dashboard and /metrics.
select name,
       coalesce(per_second, learned_per_second)::float8,
       case when per_second is not null then 'operator'
            when learned_per_second is not null then 'learned'
            else 'none' end,
       per_second::float8, burst,
       learned_per_second::float8, learned_max::float8, coalesce(learned_source, ''), learned_at,
       coalesce(paused_until > now(), false),
       s.refused_rate::float8, s.accepted_rate::float8, s.trial_at, s.trial_rate::float8, s.noise_until,
       -- Another client spent a stated limit's window lately: the probe
       -- creeps for 30 seconds after (rate_spent).
       case when r.per_second is null and r.learned_max is not null
                 and r.spent_at > now() - interval '30 seconds' then r.spent_at end,
       coalesce(r.learned_concurrency, 0), greatest(r.concurrency_refused_at, r.concurrency_raised_at),
       coalesce(r.concurrency, 0)
  from symphony.rate_limits r
       -- The search runs only for a learned rate with no stated limit and no
       -- operator's: elsewhere its columns are left-overs, shown as nothing.
       left join lateral (select r.refused_rate, r.accepted_rate, r.trial_at,
                                 case when r.trial_at is not null then r.trial_rate end as trial_rate,
                                 case when r.noise_until > now() then r.noise_until end as noise_until
                           where r.per_second is null and r.learned_max is null) s on true
 order by name
