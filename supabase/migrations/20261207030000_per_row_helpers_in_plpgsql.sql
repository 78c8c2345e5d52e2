-- The helpers called once per row or per address are PL/pgSQL now, with the
-- same bodies, so that a session plans each of them once.
--
-- A SQL function with a SET clause (every symphony function sets search_path,
-- as Supabase's Advisors ask) is never inlined: each statement that calls it
-- plans its body again, at its first call. One address checked against the
-- suppressions (normalize_address, then email_address) cost 0.11 ms of a
-- 0.24 ms statement, on the path from a dispatch to its provider request; a
-- single-row dispatch, whose triggers check each address with email_address,
-- took 0.36 ms (synchronous_commit off). A PL/pgSQL function keeps its plans
-- for the session: 0.15 ms and 0.23 ms, and a 100,000-row INSERT ... SELECT
-- 6.4 s -> 5.7 s. rollout's bucket, on every bridged row, and delivery_rank,
-- in a check of every delivery event, are the same kind of helper.
--
-- CREATE OR REPLACE keeps each function's grants, comment and dependants
-- (delivery_events' check). What each returns is unchanged: the pgTAP suites
-- and the sidecar's oracle tests of its address parser against email_address
-- hold them to it.

-- The bare address of a mailbox, or null (the forms: see the comment above
-- email_address in 20261127000000; the sidecar's parser is
-- sidecar/kind/email/payload_address.go).
create or replace function symphony.email_address(mailbox text) returns text
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  a text := coalesce(substring(mailbox from
    '^[ \t]*(?:"[ \t!\u0023-\u003b=\u003f-\u005b\u005d-\u007e\u00a0-\u2027\u202a-\U0010ffff]*"|[A-Za-z0-9!#$%&''*+/=?^_`{|}~. \t\u00a0-\u2027\u202a-\U0010ffff-]*)[ \t]*<([^<>]*)>[ \t]*$'),
    mailbox);
begin
  return case when a ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
                   and length(a) <= 254 and length(split_part(a, '@', 1)) <= 64 then a end;
end
$$;

-- email: the bare address, lower-cased; sms: E.164 without spaces, dots, dashes
-- and parentheses; null when the text is not an address of that channel.
create or replace function symphony.normalize_address(channel text, address text) returns text
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  p text;
begin
  if channel = 'email' then
    return lower(symphony.email_address(btrim(address)));
  elsif channel = 'sms' then
    p := regexp_replace(address, '[\s().-]', '', 'g');
    return case when p ~ '^\+[1-9][0-9]{6,14}$' then p end;
  end if;
  return null;
end
$$;

-- Delivery statuses, least to most final; null for anything else.
create or replace function symphony.delivery_rank(status text) returns integer
language plpgsql immutable parallel safe set search_path = '' as $$
begin
  return case status
    when 'sent' then 1          -- accepted by the provider, on its way
    when 'delayed' then 2       -- deferred, a soft bounce: the provider keeps trying
    when 'delivered' then 3
    when 'undelivered' then 4   -- dropped by the provider, or SMS undelivered/failed
    when 'bounced' then 4       -- a hard bounce
    when 'complained' then 5    -- marked as spam after delivery
  end;
end
$$;

-- A subject's stable place (0-99) for one flag: the first 32 bits of
-- md5(flag || ':' || subject) mod 100.
create or replace function symphony.bucket(flag text, subject text) returns integer
language plpgsql immutable strict parallel safe set search_path = '' as $$
begin
  return (('x' || substr(md5(flag || ':' || subject), 1, 8))::bit(32)::bigint % 100)::integer;
end
$$;
