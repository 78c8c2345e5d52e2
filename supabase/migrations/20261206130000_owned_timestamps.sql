-- Values nothing can read, serve or send are refused where they are written.
--
-- Time columns: one message inserted with created_at = 'infinity' (service_role may
-- set it) could not be read by the sidecar's claim, and took every message claimed
-- with it down. Every timestamptz column of the schema now carries a CHECK that it
-- is finite. A check rather than a trigger that overwrites the value: it holds for
-- every writer and every statement (the table owner's UPDATE, a restore, a future
-- function), costs no PL/pgSQL call on the dispatch path, and refuses instead of
-- silently replacing what a client sent (an import may carry real creation times).
--
-- available_at: run_at or delay of ±infinity queued a message that would never be
-- sent (infinity) or broke symphony.queue_stats (-infinity). queue: a typo such as
-- "emails" queued a message that no sidecar claims. Both are refused at insert
-- with an error that names them, by a trigger that only runs when one is wrong.

-- Rows written before these checks existed are repaired first, so that no later
-- update of such a row (a completion batch, say) can fail on its old value. A
-- pending message that could never be sent is cancelled, saying why; a retry
-- (symphony.retry) sends it now.
update symphony.messages
   set created_at = coalesce(attempted_at, now())
 where not isfinite(created_at);
update symphony.messages
   set state = 'cancelled', cancelled_by = 'symphony', finished_at = now(), available_at = now(),
       last_error = format('cancelled by an upgrade: available_at was %s, a time that never comes', available_at)
 where state = 'pending' and not isfinite(available_at);
update symphony.messages
   set available_at = now()
 where not isfinite(available_at);

-- One check per column, named <table>_<column>_finite. Added NOT VALID and then
-- validated, so the table stays writable while its rows are checked.
do $$
declare
  c record;
  n text;
begin
  for c in
    select t.oid::regclass as tbl, t.relname, a.attname
      from pg_catalog.pg_attribute a
      join pg_catalog.pg_class t on t.oid = a.attrelid
     where t.relnamespace = 'symphony'::regnamespace and t.relkind in ('r', 'p')
       and a.attnum > 0 and not a.attisdropped and a.atttypid = 'timestamptz'::regtype
     order by t.relname, a.attnum
  loop
    n := left(format('%s_%s_finite', c.relname, c.attname), 63);
    execute format('alter table %s add constraint %I check (isfinite(%I)) not valid', c.tbl, n, c.attname);
    begin
      execute format('alter table %s validate constraint %I', c.tbl, n);
    exception when check_violation then
      raise exception using errcode = '23514',
        message = format('symphony: %s.%s holds a time that is not finite (infinity or -infinity)', c.tbl, c.attname),
        hint = format('Give those rows a real time (update %s set %I = now() where not isfinite(%I)) and apply this migration again.',
                      c.tbl, c.attname, c.attname);
    end;
  end loop;
end $$;

-- messages_check_values words the refusals a client can meet at insert. Its WHEN
-- clause keeps it off rows that need it not (finite times and a built-in queue,
-- which the built-in kinds or symphony.queues always name), so the hot dispatch
-- path costs what it did. It fires after messages_before_insert (triggers fire
-- in name order), which has filled in the kind's queue when none was given.
create function symphony.messages_check_values() returns trigger
language plpgsql set search_path = '' as $$
begin
  if not isfinite(new.created_at) then
    raise exception using errcode = '22023', column = 'created_at',
      message = format('symphony: created_at must be a finite time, got %s', new.created_at),
      hint = 'Leave created_at out: it defaults to now().';
  end if;
  if not isfinite(new.available_at) then
    raise exception using errcode = '22023', column = 'available_at',
      message = format('symphony: available_at (run_at, delay) must be a finite time, got %s', new.available_at),
      hint = 'run_at: a timestamp such as 2026-12-01T09:00:00Z; delay: an interval such as ''10 minutes'' or a number of seconds.';
  end if;
  if not exists (select 1 from symphony.queues q where q.name = new.queue)
     and not exists (select 1 from symphony.kinds k where k.queue = new.queue) then
    raise exception using errcode = '22023', column = 'queue',
      message = format('symphony: queue "%s" is not a known queue; no sidecar would claim the message', new.queue),
      hint = 'Leave queue out to use the kind''s queue, or use one of symphony.queues (add a queue there first).';
  end if;
  return new;
end $$;
create trigger messages_check_values before insert on symphony.messages
  for each row when (not isfinite(new.created_at) or not isfinite(new.available_at)
                     or new.queue not in ('email', 'sms', 'campaign', 'drip', 'default'))
  execute function symphony.messages_check_values();

revoke all on function symphony.messages_check_values() from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony.messages_check_values() from %I', r);
    end if;
  end loop;
end $$;
