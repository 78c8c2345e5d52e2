-- The token bucket's helpers in PL/pgSQL, with the same bodies, so that a
-- session plans each of them once (as 20261207030000 did for the per-row
-- helpers).
--
-- A SQL function with a SET clause is never inlined: each statement that
-- calls it plans its body again. give_tokens runs in every claim of a queue
-- whose bucket has a rate (claim.sql), and its update took 0.9 ms of a 1.8 ms
-- claim while an idle sidecar woke for single messages; _bucket_rate, which
-- take_tokens and give_tokens both call, was planned again in each.
--
-- CREATE OR REPLACE keeps each function's grants and comment. What each
-- returns is unchanged: the pgTAP suites of the rate limits hold them to it.

create or replace function symphony._bucket_rate(b symphony.rate_limits, out rate numeric, out burst numeric, out cap numeric)
language plpgsql immutable set search_path = '' as $$
begin
  rate := coalesce(b.per_second, b.learned_per_second);
  burst := case when b.per_second is not null then b.burst
                else greatest(b.burst, floor(b.learned_per_second / 20)) end;
  cap := case when b.per_second is not null then b.burst
              else greatest(b.burst, floor(b.learned_per_second / 20)) + 0.99 end;
end
$$;

create or replace function symphony.give_tokens(bucket text, n integer) returns void
language plpgsql set search_path = '' as $$
begin
  update symphony.rate_limits b set tokens = least((symphony._bucket_rate(b)).cap, tokens + n)
   where name = bucket and coalesce(per_second, learned_per_second) is not null and n > 0;
end
$$;
