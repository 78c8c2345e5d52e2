-- Credentials stay out of symphony.kinds.config whatever their spelling or depth.
--
-- The first check compared top-level keys case-sensitively with a short list, so
-- {"Token": …}, {"API_KEY": …}, {"bearer": …} or a key inside a nested object got
-- through, as did a webhook URL carrying a password (https://user:pass@host) or a
-- token in its query (?token=…). Every role that reads kinds would read them.
-- Webhooks are signed with SYMPHONY_WEBHOOK_SECRET and Edge Functions get the
-- service-role key, both from the sidecar's environment: no kind needs a
-- credential of its own. (A secret a receiver hides in the URL's path cannot be
-- told from a path; the sidecar keeps paths and queries out of errors and logs.)

-- _config_credential returns where in v a credential is (a key path such as
-- "options.auth", or "url" for a URL's password or query), or null: a key whose
-- name says credential in any case, a string that is an Authorization value, a
-- URL with a password or with such a query parameter.
create function symphony._config_credential(v jsonb, at text default '') returns text
language plpgsql immutable parallel safe set search_path = '' as $$
declare
  named constant text := '(auth|token|secret|passw|pwd|api[_-]?key|apikey|bearer|credential|private[_-]?key|cookie|signature|^headers$|^sig$|^key$)';
  e record;
  s text;
  hit text;
begin
  case jsonb_typeof(v)
    when 'object' then
      for e in select key, value from jsonb_each(v) loop
        if lower(e.key) ~ named then
          return at || e.key;
        end if;
        hit := symphony._config_credential(e.value, at || e.key || '.');
        if hit is not null then
          return hit;
        end if;
      end loop;
    when 'array' then
      for e in select value, n from jsonb_array_elements(v) with ordinality as a(value, n) loop
        hit := symphony._config_credential(e.value, format('%s[%s].', rtrim(at, '.'), e.n - 1));
        if hit is not null then
          return hit;
        end if;
      end loop;
    when 'string' then
      s := v #>> '{}';
      if s ~* '^\s*(bearer|basic|token)\s+\S'
         or s ~* '^[a-z][a-z0-9+.-]*://[^/?#]*@'
         or exists (select 1 from regexp_split_to_table(substring(s from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^?#]*\?([^#]*)'), '&') p
                     where lower(split_part(p, '=', 1)) ~ named) then
        return rtrim(at, '.');
      end if;
    else
      null;
  end case;
  return null;
end $$;
comment on function symphony._config_credential(jsonb, text) is
  'Where in a kind''s config a credential is (a key path), or null. Backs the check kinds_config_has_no_secrets.';

do $$
declare
  bad text;
begin
  select string_agg(format('%s (%s)', kind, symphony._config_credential(config)), ', ' order by kind) into bad
    from symphony.kinds where symphony._config_credential(config) is not null;
  if bad is not null then
    raise exception using errcode = '23514',
      message = format('symphony: these kinds keep a credential in their config: %s', bad),
      hint = 'Remove it (webhooks are signed with SYMPHONY_WEBHOOK_SECRET; Edge Functions get SUPABASE_SERVICE_ROLE_KEY) and apply this migration again.';
  end if;
end $$;

alter table symphony.kinds
  drop constraint kinds_config_has_no_secrets,
  add constraint kinds_config_has_no_secrets check (symphony._config_credential(config) is null);
comment on constraint kinds_config_has_no_secrets on symphony.kinds is
  'No credential in config, in any spelling or depth (symphony._config_credential says where one is).';

revoke all on function symphony._config_credential(jsonb, text) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on function symphony._config_credential(jsonb, text) from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    -- the check runs as the role that writes kinds
    grant execute on function symphony._config_credential(jsonb, text) to service_role;
  end if;
end $$;
