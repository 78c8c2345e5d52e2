-- Symphony Messenger: only Symphony changes who owns a bridged row.
--
-- The owner column (handled_by) is the legacy code's whole check, and it lives in
-- the app's own table, where the API roles may write (on Supabase anon and
-- authenticated get every privilege on a new table in public, and with RLS off
-- nothing stops them). Setting handled_by = 'legacy' on a row whose Symphony
-- message is still pending would make both systems send it; setting 'symphony' on
-- a row legacy owns would make neither. So every bridged table gets a trigger that
-- refuses any change of the owner column other than Symphony's own: the column may
-- only ever say what symphony.bridge_rows says (bridge_hand_back moves both), and a
-- row the bridge never routed can never be marked 'symphony'.

create function symphony.bridge_guard_owner() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  was text;
  wants text;
  owner text;
  routed boolean;
begin
  select * into b from symphony.bridges where name = tg_argv[0];
  if not found then
    return new;
  end if;
  was := to_jsonb(old) ->> b.owner_column;
  wants := to_jsonb(new) ->> b.owner_column;
  if wants is not distinct from was then
    return new;
  end if;
  select r.owner, true into owner, routed from symphony.bridge_rows r
   where r.bridge = b.name and r.source_id = to_jsonb(old) ->> b.id_column;
  if routed and wants is not distinct from owner then
    return new;  -- Symphony moving the row (a rollback hands it back to legacy)
  end if;
  if not coalesce(routed, false) and wants is distinct from 'symphony' then
    return new;  -- a row Symphony never took is legacy's business
  end if;
  raise exception using errcode = '42501',
    message = format('symphony: %s.%I is set by Symphony only; row %s belongs to %s (bridge %s)',
                     b.source, b.owner_column, to_jsonb(old) ->> b.id_column, coalesce(owner, 'legacy'), b.name),
    hint = format('To move rows back to legacy, turn flag %s off: Symphony hands back every row it has not started.', b.flag);
end $$;

-- Each bridge gets the guard when it is installed and loses it when it is removed.
create function symphony.bridges_guard() returns trigger
language plpgsql set search_path = '' as $$
begin
  if tg_op = 'INSERT' then
    execute format('create trigger symphony_bridge_owner_guard before update of %I on %s for each row execute function symphony.bridge_guard_owner(%L)',
                   new.owner_column, new.source, new.name);
  else
    execute format('drop trigger if exists symphony_bridge_owner_guard on %s', old.source);
  end if;
  return null;
end $$;

create trigger bridges_guard after insert or delete on symphony.bridges
  for each row execute function symphony.bridges_guard();

-- Bridges installed before this migration.
do $$
declare
  b symphony.bridges;
begin
  for b in select * from symphony.bridges loop
    execute format('create trigger symphony_bridge_owner_guard before update of %I on %s for each row execute function symphony.bridge_guard_owner(%L)',
                   b.owner_column, b.source, b.name);
  end loop;
end $$;

revoke all on function symphony.bridge_guard_owner(), symphony.bridges_guard() from public;
