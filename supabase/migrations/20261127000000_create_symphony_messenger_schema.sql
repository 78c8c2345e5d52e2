-- Symphony Messenger: the whole schema. The queue and its kinds, payload checks, wake-ups,
-- rate limits, leases and retention, operator actions, suppression and delivery status;
-- the rollout flags; bridges from legacy queue tables; campaigns, drips and schedules;
-- the operators' views and pg_cron jobs; and who may do what.
--
-- Applies with `supabase db push` or, as the migration guide's Phase 1 shows, with
-- `psql -f` on any PostgreSQL 15. Applying it changes nothing for an existing app:
-- every flag starts off, and nothing is claimed until the master flag `symphony` is on.
-- Each object is defined once, here; a change to the schema is a new migration file.
--
-- Conventions: every function pins search_path to '' and names objects in full;
-- functions are SECURITY INVOKER unless a comment on them says why not.

create schema if not exists symphony;
comment on schema symphony is
  'Symphony Messenger: a Postgres-native message queue for email, SMS, campaigns and drips. Never expose this schema through the Data API.';
revoke all on schema symphony from public;

-- This database's queue, once. Idempotency keys sent to providers include its id,
-- because message ids restart in every database (staging, a reset dev database)
-- and providers such as Resend scope keys to the account, not the database.
create table symphony.installation (
  singleton  boolean primary key default true check (singleton),
  id         uuid not null default gen_random_uuid(),
  created_at timestamptz not null default now() constraint installation_created_at_finite check (isfinite(created_at))
);
insert into symphony.installation default values;

-- ===========================================================================
-- 1. The message lifecycle: kind, dispatch, wake-up, claim, finish, delivery.
-- ===========================================================================

-- ---------------------------------------------------------------------------
-- Kinds: what may be dispatched, and where it goes.
-- ---------------------------------------------------------------------------

-- Kinds handled outside the sidecar: a Supabase Edge Function or any webhook.
--
--   select symphony.register_kind('report.build', 'default', 5, 'edge_function', '{"function": "build-report"}');
--   select symphony.register_kind('crm.sync', 'default', 8, 'webhook', '{"url": "https://crm.example.com/hooks/symphony"}');
--
-- The sidecar POSTs {id, kind, attempt, max_attempts, subject, payload, meta}
-- with an Idempotency-Key that is the same on every attempt. Edge Functions get
-- the service-role key as Bearer token (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY
-- in the sidecar's environment); webhooks are signed with SYMPHONY_WEBHOOK_SECRET.
-- Credentials never go in symphony.kinds.config.

-- _config_credential returns where in v a credential is (a key path such as
-- "options.auth", or "url" for a URL's password or query), or null: a key whose
-- name says credential in any case, a string that is an Authorization value, a
-- URL with a password or with such a query parameter. Any spelling or depth counts:
-- {"Token": …}, {"API_KEY": …}, a key inside a nested object, a webhook URL carrying a
-- password (https://user:pass@host) or a token in its query (?token=…). (A secret a
-- receiver hides in the URL's path cannot be told from a path; the sidecar keeps paths
-- and queries out of errors and logs.)
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

create table symphony.kinds (
  kind              text primary key
                    check (kind ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  queue             text not null default 'default'
                    check (queue ~ '^[a-z][a-z0-9_]{0,62}$'),
  max_attempts      integer not null default 5 check (max_attempts between 1 and 100),
  max_payload_bytes integer not null default 262144 check (max_payload_bytes between 16 and 10485760),
  handler           text not null default 'builtin',
  config            jsonb not null default '{}' check (jsonb_typeof(config) = 'object'),
  description       text,
  created_at        timestamptz not null default now() constraint kinds_created_at_finite check (isfinite(created_at)),
  -- Text, not regprocedure: pg_upgrade refuses tables with reg* columns other than
  -- regclass/regtype/regrole, and Supabase upgrades Postgres with pg_upgrade.
  validator         text check (validator ~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$'),
  constraint kinds_handler_known
    check (handler in ('builtin', 'edge_function', 'webhook')),
  constraint kinds_edge_function_config
    check (handler <> 'edge_function' or coalesce(config ->> 'function', '') ~ '^[A-Za-z0-9_-]{1,128}$'),
  constraint kinds_webhook_config
    check (handler <> 'webhook' or coalesce(config ->> 'url', '') ~ '^https?://[^\s/]+'),
  -- A credential in a row would be readable by every role that reads kinds.
  constraint kinds_config_has_no_secrets check (symphony._config_credential(config) is null)
);
comment on table symphony.kinds is
  'Message kinds that may be dispatched. Unknown kinds are rejected at insert; add your own with symphony.register_kind().';
comment on column symphony.kinds.handler is
  'builtin (email.send, sms.send, …), edge_function (config {"function": name}) or webhook (config {"url": …}).';
comment on constraint kinds_config_has_no_secrets on symphony.kinds is
  'No credential in config, in any spelling or depth (symphony._config_credential says where one is).';
comment on column symphony.kinds.validator is
  'Optional schema-qualified function name f(payload jsonb) run at insert for kinds other than email.send and sms.send; it raises SQLSTATE 22023 naming the bad field.';

insert into symphony.kinds (kind, queue, max_attempts, description) values
  ('email.send', 'email', 5, 'Send one email: to, from, subject, html and/or text; optional cc, bcc, reply_to, headers, tags, attachments.'),
  ('sms.send',   'sms',   5, 'Send one SMS: to (E.164), body; optional from.');

-- Sidecars reload remote kinds when the table changes.
create function symphony.kinds_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('symphony_flags', 'kinds');
  return null;
end $$;
create trigger kinds_changed after insert or update or delete on symphony.kinds
  for each statement execute function symphony.kinds_changed();

-- ---------------------------------------------------------------------------
-- Messages: the queue.
-- ---------------------------------------------------------------------------
create table symphony.messages (
  id            bigint generated always as identity primary key,
  kind          text not null,
  queue         text not null,
  payload       jsonb not null,
  state         text not null default 'pending'
                check (state in ('pending', 'processing', 'succeeded', 'dead', 'cancelled')),
  priority      smallint not null default 0,
  attempts      integer not null default 0 check (attempts >= 0),
  max_attempts  integer not null check (max_attempts between 1 and 100),
  available_at  timestamptz not null default now() constraint messages_available_at_finite check (isfinite(available_at)),
  locked_by     text,
  locked_until  timestamptz constraint messages_locked_until_finite check (isfinite(locked_until)),
  dedupe_key    text check (length(dedupe_key) between 1 and 200),
  subject       text,
  meta          jsonb not null default '{}' check (jsonb_typeof(meta) = 'object'),
  last_error    text,
  errors        jsonb not null default '[]' check (jsonb_typeof(errors) = 'array'),
  result        jsonb,
  cancelled_by  text,
  created_at    timestamptz not null default now() constraint messages_created_at_finite check (isfinite(created_at)),
  attempted_at  timestamptz constraint messages_attempted_at_finite check (isfinite(attempted_at)),
  finished_at   timestamptz constraint messages_finished_at_finite check (isfinite(finished_at)),
  constraint messages_finished_at_matches_state
    check ((state in ('succeeded', 'dead', 'cancelled')) = (finished_at is not null)),
  -- A lease exists exactly while a message is processing: the sidecar's writes
  -- rely on "locked_by = me" meaning "processing and mine".
  constraint messages_lease_matches_state
    check ((state = 'processing') = (locked_by is not null) and (locked_by is null) = (locked_until is null)),
  constraint messages_dead_has_reason
    check (state <> 'dead' or last_error is not null),
  constraint messages_cancelled_has_actor
    check (state <> 'cancelled' or cancelled_by is not null)
);
comment on table symphony.messages is
  'The queue. Dispatch = INSERT (kind, payload). States: pending (waiting, scheduled or retry-waiting), processing (claimed under a lease), succeeded, dead (with last_error), cancelled (with cancelled_by). Only the sidecar and symphony.* functions change state.';
comment on column symphony.messages.priority is 'Higher runs first within a queue. Default 0.';
comment on column symphony.messages.available_at is 'Not claimed before this time: delays, schedules and retry backoff.';
comment on column symphony.messages.dedupe_key is 'Optional; a second dispatch with the same key is refused (symphony.dispatch returns the first message''s id).';
comment on column symphony.messages.subject is 'Optional routing subject (a user id, say); what symphony.rollout hashes.';
comment on column symphony.messages.errors is 'One entry per failed attempt: {attempt, at, error, code, worker, maybe_sent}. maybe_sent: the provider may have accepted the message although the attempt failed.';

-- Claiming scans pending work only: finished history never enters this index.
create index messages_claim_idx on symphony.messages (queue, priority desc, available_at, id)
  where state = 'pending';
-- Lease rescue scans in-flight work only.
create index messages_lease_idx on symphony.messages (locked_until) where state = 'processing';
create unique index messages_dedupe_key_idx on symphony.messages (dedupe_key)
  where dedupe_key is not null;
-- Retention, throughput views and the failure queue read finished work by time.
create index messages_finished_idx on symphony.messages (finished_at, state)
  where finished_at is not null;
-- The failure queue is read by queue and by time (recent_failures, the dead counts in
-- queue_stats, the metrics collector); dead rows are few next to succeeded history.
create index messages_dead_idx on symphony.messages (queue, finished_at desc)
  where state = 'dead';

-- ---------------------------------------------------------------------------
-- Sidecars register and beat here; a sidecar that stops beating is visible.
-- ---------------------------------------------------------------------------
create table symphony.workers (
  id            text primary key,
  hostname      text not null,
  version       text not null,
  queues        jsonb not null default '{}',
  started_at    timestamptz not null default now() constraint workers_started_at_finite check (isfinite(started_at)),
  heartbeat_at  timestamptz not null default now() constraint workers_heartbeat_at_finite check (isfinite(heartbeat_at)),
  stopped_at    timestamptz constraint workers_stopped_at_finite check (isfinite(stopped_at))
);
comment on table symphony.workers is 'Sidecars that have run, with their heartbeats. id is what messages.locked_by holds.';

-- ---------------------------------------------------------------------------
-- Payload validation: bad input fails at dispatch, naming the field.
-- ---------------------------------------------------------------------------

-- _fail raises the one error shape every validator uses (SQLSTATE 22023).
create function symphony._fail(kind text, field text, problem text) returns void
language plpgsql immutable set search_path = '' as $$
begin
  raise exception using
    errcode = '22023',
    message = format('symphony: invalid %s payload: %s %s', kind, field, problem),
    column = 'payload';
end $$;

-- What email.send may carry to a provider (docs/providers.md, "Addresses and fields").
-- Addresses: a display name may hold a comma or an @ only inside quotes, so that no
-- provider can read one mailbox as several, and a suppression check on the address in
-- angle brackets covers everything that is sent. Nothing but spaces and tabs after the
-- closing >. Local parts are dot-atoms (no leading, trailing or doubled dot).
-- Subjects and every other one-line field refuse NEL, U+2028 and U+2029 as line breaks.
-- Tags: values in Resend's charset. Headers: none that a provider reserves. Storage
-- paths: no percent-escapes.
--
-- email_address returns the bare address of a mailbox, or null when the text is not
-- one of the forms below. The sidecar's parser (sidecar/handler/payload_address.go)
-- accepts exactly the same strings.
--   address                   local@domain, at most 254 characters, local part at most 64
--   words <address>           words: letters of any script, digits, spaces, . and
--                             !#$%&'*+-/=?^_`{|}~ (no , ; : @ ( ) [ ] \ " < >)
--   "quoted name" <address>   anything printable but " \ < >
-- with spaces or tabs around the mailbox. Control characters, NEL and U+2028/U+2029
-- are refused everywhere.
create function symphony.email_address(mailbox text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select case when a ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
               and length(a) <= 254 and length(split_part(a, '@', 1)) <= 64 then a end
  from (select coalesce(substring(mailbox from
    '^[ \t]*(?:"[ \t!\u0023-\u003b=\u003f-\u005b\u005d-\u007e\u00a0-\u2027\u202a-\U0010ffff]*"|[A-Za-z0-9!#$%&''*+/=?^_`{|}~. \t\u00a0-\u2027\u202a-\U0010ffff-]*)[ \t]*<([^<>]*)>[ \t]*$'),
    mailbox) as a) s
$$;

create function symphony._check_addresses(kind text, field text, v jsonb, required boolean, max_count integer)
returns void language plpgsql immutable set search_path = '' as $$
declare
  e jsonb;
  n integer := 0;
begin
  if v is null or v = 'null'::jsonb then
    if required then perform symphony._fail(kind, format('"%s"', field), 'is required'); end if;
    return;
  end if;
  if jsonb_typeof(v) = 'string' then
    v := jsonb_build_array(v);
  elsif jsonb_typeof(v) <> 'array' then
    perform symphony._fail(kind, format('"%s"', field), 'must be an email address or an array of them, got ' || jsonb_typeof(v));
  end if;
  for e in select * from jsonb_array_elements(v) loop
    n := n + 1;
    if jsonb_typeof(e) <> 'string' then
      perform symphony._fail(kind, format('"%s[%s]"', field, n - 1), 'must be a string, got ' || jsonb_typeof(e));
    end if;
    if symphony.email_address(e #>> '{}') is null then
      perform symphony._fail(kind, format('"%s"', field), format('is not an email address: %s', left(e #>> '{}', 100)));
    end if;
  end loop;
  if n = 0 and required then
    perform symphony._fail(kind, format('"%s"', field), 'must name at least one recipient');
  end if;
  if n > max_count then
    perform symphony._fail(kind, format('"%s"', field), format('has %s addresses; at most %s are allowed', n, max_count));
  end if;
end $$;

create function symphony._check_string(kind text, field text, v jsonb, required boolean, max_len integer, single_line boolean default false)
returns void language plpgsql immutable set search_path = '' as $$
begin
  if v is null or v = 'null'::jsonb then
    if required then perform symphony._fail(kind, format('"%s"', field), 'is required'); end if;
    return;
  end if;
  if jsonb_typeof(v) <> 'string' then
    perform symphony._fail(kind, format('"%s"', field), 'must be a string, got ' || jsonb_typeof(v));
  end if;
  if required and btrim(v #>> '{}') = '' then
    perform symphony._fail(kind, format('"%s"', field), 'must not be empty');
  end if;
  if length(v #>> '{}') > max_len then
    perform symphony._fail(kind, format('"%s"', field), format('is %s characters long; at most %s are allowed', length(v #>> '{}'), max_len));
  end if;
  if single_line and (v #>> '{}') ~ '[\r\n\u0085\u2028\u2029]' then
    perform symphony._fail(kind, format('"%s"', field), 'must not contain line breaks');
  end if;
end $$;

create function symphony.validate_email_payload(p jsonb) returns void
language plpgsql immutable set search_path = '' as $$
declare
  k constant text := 'email.send';
  allowed constant text[] := array['to', 'from', 'subject', 'html', 'text', 'cc', 'bcc', 'reply_to', 'headers', 'tags', 'attachments'];
  -- Set by the provider from the payload's fields, or refused by one (SendGrid's
  -- Mail Send reference lists these as headers that may not be overridden).
  reserved_headers constant text[] := array['to', 'from', 'subject', 'reply-to', 'cc', 'bcc', 'content-type',
    'content-transfer-encoding', 'dkim-signature', 'received', 'x-sg-id', 'x-sg-eid'];
  f text;
  e record;
  a jsonb;
  i integer := 0;
begin
  -- Fast path, one expression: the common shape (one bare recipient, a sender,
  -- a subject, a body) that is certainly valid. It accepts only what the checks
  -- below accept; anything else, valid or not, goes through them, and they alone
  -- word the error. This keeps a dispatch at a few microseconds.
  if jsonb_typeof(p) = 'object'
     and (p - array['to', 'from', 'subject', 'html', 'text']) = '{}'::jsonb
     and jsonb_typeof(p -> 'to') = 'string' and length(p ->> 'to') <= 254
     and length(split_part(p ->> 'to', '@', 1)) <= 64
     and (p ->> 'to') ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
     and jsonb_typeof(p -> 'from') = 'string' and length(p ->> 'from') <= 254
     and length(split_part(p ->> 'from', '@', 1)) <= 64
     and (p ->> 'from') ~ '^(?:[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+|[A-Za-z0-9!#$%&''*+/=?^_`{|}~. -]*<[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+>)$'
     and jsonb_typeof(p -> 'subject') = 'string' and length(p ->> 'subject') <= 998
     and btrim(p ->> 'subject') <> '' and (p ->> 'subject') !~ '[\r\n\u0085\u2028\u2029]'
     and coalesce(jsonb_typeof(p -> 'html'), 'string') = 'string'
     and coalesce(jsonb_typeof(p -> 'text'), 'string') = 'string'
     and (coalesce(p ->> 'html', '') <> '' or coalesce(p ->> 'text', '') <> '') then
    return;
  end if;
  if jsonb_typeof(p) is distinct from 'object' then
    perform symphony._fail(k, 'payload', 'must be a JSON object, got ' || coalesce(jsonb_typeof(p), 'nothing'));
  end if;
  select key into f from jsonb_object_keys(p) as key where key <> all (allowed) limit 1;
  if f is not null then
    perform symphony._fail(k, format('"%s"', f), 'is not a field of email.send (fields: ' || array_to_string(allowed, ', ') || ')');
  end if;
  perform symphony._check_addresses(k, 'to', p -> 'to', true, 50);
  perform symphony._check_addresses(k, 'cc', p -> 'cc', false, 50);
  perform symphony._check_addresses(k, 'bcc', p -> 'bcc', false, 50);
  perform symphony._check_addresses(k, 'reply_to', p -> 'reply_to', false, 50);
  perform symphony._check_string(k, 'from', p -> 'from', true, 320, true);
  if symphony.email_address(p ->> 'from') is null then
    perform symphony._fail(k, '"from"', format('is not an email address: %s', left(p ->> 'from', 100)));
  end if;
  perform symphony._check_string(k, 'subject', p -> 'subject', true, 998, true);
  perform symphony._check_string(k, 'html', p -> 'html', false, 10485760);
  perform symphony._check_string(k, 'text', p -> 'text', false, 10485760);
  if coalesce(p ->> 'html', '') = '' and coalesce(p ->> 'text', '') = '' then
    perform symphony._fail(k, '"html" or "text"', 'is required: the email has no body');
  end if;
  if p ? 'headers' then
    if jsonb_typeof(p -> 'headers') <> 'object' then
      perform symphony._fail(k, '"headers"', 'must be an object of header names to string values');
    end if;
    for e in select * from jsonb_each(p -> 'headers') loop
      if e.key !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,100}$' then
        perform symphony._fail(k, format('"headers.%s"', e.key), 'is not a valid header name');
      end if;
      if lower(e.key) = any (reserved_headers) then
        perform symphony._fail(k, format('"headers.%s"', e.key),
          'is reserved: the provider sets it from the payload (use to, cc, bcc, reply_to and subject)');
      end if;
      perform symphony._check_string(k, 'headers.' || e.key, e.value, false, 2000, true);
    end loop;
  end if;
  if p ? 'tags' then
    if jsonb_typeof(p -> 'tags') <> 'object' then
      perform symphony._fail(k, '"tags"', 'must be an object of tag names to string values');
    end if;
    for e in select * from jsonb_each(p -> 'tags') loop
      if e.key !~ '^[A-Za-z0-9_-]+$' or length(e.key) > 256 then
        perform symphony._fail(k, format('"tags.%s"', e.key), 'must use only ASCII letters, digits, _ and -');
      end if;
      perform symphony._check_string(k, 'tags.' || e.key, e.value, false, 256, true);
      if (e.value #>> '{}') !~ '^[A-Za-z0-9_-]*$' then
        perform symphony._fail(k, format('"tags.%s"', e.key), 'value must use only ASCII letters, digits, _ and -');
      end if;
    end loop;
  end if;
  if p ? 'attachments' then
    if jsonb_typeof(p -> 'attachments') <> 'array' then
      perform symphony._fail(k, '"attachments"', 'must be an array of {filename, content} or {filename, storage: {bucket, path}}');
    end if;
    if jsonb_array_length(p -> 'attachments') > 20 then
      perform symphony._fail(k, '"attachments"', 'has more than 20 files');
    end if;
    for a in select * from jsonb_array_elements(p -> 'attachments') loop
      if jsonb_typeof(a) <> 'object' then
        perform symphony._fail(k, format('"attachments[%s]"', i), 'must be an object {filename, content} or {filename, storage}');
      end if;
      if (a - array['filename', 'content', 'content_type', 'storage']) <> '{}'::jsonb then
        perform symphony._fail(k, format('"attachments[%s]"', i), 'may only have filename, content, content_type and storage');
      end if;
      perform symphony._check_string(k, format('attachments[%s].filename', i), a -> 'filename', true, 255, true);
      if (a ->> 'filename') ~ '[/\\]' then
        perform symphony._fail(k, format('"attachments[%s].filename"', i), 'must be a file name, not a path');
      end if;
      -- The bytes come inline (base64) or from Supabase Storage, never both.
      if (a ? 'content') = (a ? 'storage') then
        perform symphony._fail(k, format('"attachments[%s]"', i), 'needs exactly one of content (base64) and storage ({bucket, path})');
      end if;
      if a ? 'content' then
        perform symphony._check_string(k, format('attachments[%s].content', i), a -> 'content', true, 10485760);
        if (a ->> 'content') !~ '^[A-Za-z0-9+/\s]*={0,2}\s*$' then
          perform symphony._fail(k, format('"attachments[%s].content"', i), 'must be base64');
        end if;
      else
        if jsonb_typeof(a -> 'storage') <> 'object' or ((a -> 'storage') - array['bucket', 'path']) <> '{}'::jsonb then
          perform symphony._fail(k, format('"attachments[%s].storage"', i), 'must be {bucket, path}');
        end if;
        perform symphony._check_string(k, format('attachments[%s].storage.bucket', i), a -> 'storage' -> 'bucket', true, 100, true);
        if (a -> 'storage' ->> 'bucket') !~ '^[A-Za-z0-9_.-]+$' then
          perform symphony._fail(k, format('"attachments[%s].storage.bucket"', i), 'is not a bucket name');
        end if;
        perform symphony._check_string(k, format('attachments[%s].storage.path', i), a -> 'storage' -> 'path', true, 1024, true);
        if (a -> 'storage' ->> 'path') ~ '%' then
          perform symphony._fail(k, format('"attachments[%s].storage.path"', i),
            'must not contain %: Storage decodes percent-escapes, and its object names cannot hold %');
        end if;
        if (a -> 'storage' ->> 'path') ~ '(^|/)\.\.(/|$)' or (a -> 'storage' ->> 'path') ~ '^/' then
          perform symphony._fail(k, format('"attachments[%s].storage.path"', i), 'must be a relative path inside the bucket');
        end if;
      end if;
      perform symphony._check_string(k, format('attachments[%s].content_type', i), a -> 'content_type', false, 255, true);
      i := i + 1;
    end loop;
  end if;
end $$;

create function symphony.validate_sms_payload(p jsonb) returns void
language plpgsql immutable set search_path = '' as $$
declare
  k constant text := 'sms.send';
  allowed constant text[] := array['to', 'body', 'from'];
  f text;
begin
  -- Fast path: see validate_email_payload.
  if jsonb_typeof(p) = 'object' and (p - array['to', 'body']) = '{}'::jsonb
     and jsonb_typeof(p -> 'to') = 'string' and (p ->> 'to') ~ '^\+[1-9][0-9]{6,14}$'
     and jsonb_typeof(p -> 'body') = 'string' and btrim(p ->> 'body') <> '' and length(p ->> 'body') <= 1600 then
    return;
  end if;
  if jsonb_typeof(p) is distinct from 'object' then
    perform symphony._fail(k, 'payload', 'must be a JSON object, got ' || coalesce(jsonb_typeof(p), 'nothing'));
  end if;
  select key into f from jsonb_object_keys(p) as key where key <> all (allowed) limit 1;
  if f is not null then
    perform symphony._fail(k, format('"%s"', f), 'is not a field of sms.send (fields: ' || array_to_string(allowed, ', ') || ')');
  end if;
  perform symphony._check_string(k, 'to', p -> 'to', true, 16, true);
  if (p ->> 'to') !~ '^\+[1-9][0-9]{6,14}$' then
    perform symphony._fail(k, '"to"', format('must be an E.164 phone number such as +14155550100, got %s', left(p ->> 'to', 40)));
  end if;
  perform symphony._check_string(k, 'body', p -> 'body', true, 1600);
  perform symphony._check_string(k, 'from', p -> 'from', false, 34, true);
  if p ? 'from' and (p ->> 'from') !~ '^(\+[1-9][0-9]{6,14}|MG[0-9a-f]{32}|[A-Za-z0-9 ]*[A-Za-z][A-Za-z0-9 ]*)$' then
    perform symphony._fail(k, '"from"', 'must be an E.164 number, an alphanumeric sender ID or a messaging service SID (MG…)');
  end if;
  if p ? 'from' and (p ->> 'from') ~ '^[A-Za-z0-9 ]+$' and (p ->> 'from') !~ '^MG[0-9a-f]{32}$'
     and length(p ->> 'from') > 11 then
    perform symphony._fail(k, '"from"', 'as an alphanumeric sender ID is at most 11 characters');
  end if;
end $$;

-- valid_time_zone: an IANA name ("America/New_York", "UTC") that both Postgres and
-- the sidecar (Go's tz database) know. Abbreviations ("EST") and POSIX strings
-- ("UTC+5") are refused because Go cannot load them.
create function symphony.valid_time_zone(tz text) returns boolean
language plpgsql stable set search_path = '' as $$
begin
  if tz is null or tz !~ '^(UTC|[A-Za-z]+(/[A-Za-z0-9_+-]+)+)$' then
    return false;
  end if;
  perform now() at time zone tz;
  return true;
exception when invalid_parameter_value then
  return false;
end $$;

-- validate_quiet_hours checks meta.quiet_hours of an sms.send:
-- {"time_zone": "America/New_York", "from": "08:00", "until": "21:00"}; from and
-- until are optional (08:00 and 21:00). The window is when sending is allowed,
-- in the recipient's local time; until < from wraps past midnight.
create function symphony.validate_quiet_hours(kind text, q jsonb) returns void
language plpgsql stable set search_path = '' as $$
declare
  f text;
begin
  if kind <> 'sms.send' then
    perform symphony._fail(kind, 'meta "quiet_hours"', 'applies to sms.send only');
  end if;
  if jsonb_typeof(q) is distinct from 'object' then
    perform symphony._fail(kind, 'meta "quiet_hours"', 'must be an object {time_zone, from, until}');
  end if;
  select key into f from jsonb_object_keys(q) as key where key <> all (array['time_zone', 'from', 'until']) limit 1;
  if f is not null then
    perform symphony._fail(kind, format('meta "quiet_hours.%s"', f), 'is not a field of quiet_hours (fields: time_zone, from, until)');
  end if;
  if not symphony.valid_time_zone(q ->> 'time_zone') then
    perform symphony._fail(kind, 'meta "quiet_hours.time_zone"',
      format('must be an IANA time zone such as America/New_York, got %s', coalesce(left(q ->> 'time_zone', 60), 'nothing')));
  end if;
  foreach f in array array['from', 'until'] loop
    if q ? f and (jsonb_typeof(q -> f) <> 'string' or (q ->> f) !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$') then
      perform symphony._fail(kind, format('meta "quiet_hours.%s"', f), 'must be a time of day HH:MM such as 08:00');
    end if;
  end loop;
  if coalesce(q ->> 'from', '08:00') = coalesce(q ->> 'until', '21:00') then
    perform symphony._fail(kind, 'meta "quiet_hours"', 'from and until must differ');
  end if;
end $$;

-- A new row is checked and completed here, before it exists: kind, queue, attempts,
-- payload shape and size. Per row, because each row needs its own error.
create function symphony.messages_before_insert() returns trigger
language plpgsql set search_path = '' as $$
declare
  k symphony.kinds;
  size integer;
begin
  select * into k from symphony.kinds where kind = new.kind;
  if not found then
    raise exception using
      errcode = '22023',
      message = format('symphony: unknown message kind %s', coalesce(quote_literal(new.kind), 'null')),
      hint = 'Built-in kinds are email.send and sms.send; register your own with symphony.register_kind(kind, queue).',
      column = 'kind';
  end if;
  if new.state <> 'pending' or new.attempts <> 0 or new.locked_by is not null or new.locked_until is not null
     or new.finished_at is not null or new.result is not null or new.cancelled_by is not null then
    raise exception using
      errcode = '22023',
      message = 'symphony: a new message starts pending with no attempts, lease or result; Symphony sets those';
  end if;
  new.queue := coalesce(new.queue, k.queue);
  new.max_attempts := coalesce(new.max_attempts, k.max_attempts);
  -- The text length, not pg_column_size: a value copied from a stored row arrives
  -- compressed, and its compressed size says nothing about what we must send.
  size := octet_length(new.payload::text);
  if size > k.max_payload_bytes then
    raise exception using
      errcode = '54000',
      message = format('symphony: %s payload is %s bytes; the limit for this kind is %s', new.kind, size, k.max_payload_bytes),
      hint = 'Put large content (attachments) in storage and send a reference.',
      column = 'payload';
  end if;
  case new.kind
    when 'email.send' then perform symphony.validate_email_payload(new.payload);
    when 'sms.send' then perform symphony.validate_sms_payload(new.payload);
    else
      if jsonb_typeof(new.payload) <> 'object' then
        perform symphony._fail(new.kind, 'payload', 'must be a JSON object, got ' || jsonb_typeof(new.payload));
      end if;
  end case;
  return new;
end $$;

create trigger messages_before_insert before insert on symphony.messages
  for each row execute function symphony.messages_before_insert();

-- A second insert trigger, after messages_before_insert (triggers fire in name
-- order): a kind's validator, and meta.quiet_hours where present. Its WHEN clause
-- keeps it off the email.send and sms.send rows that need neither, so the hot
-- dispatch path does not pay for it.
create function symphony.messages_validate_kind() returns trigger
language plpgsql set search_path = '' as $$
declare
  v text;
begin
  select validator into v from symphony.kinds where kind = new.kind;
  if v is not null then
    execute format('select %s($1)', v) using new.payload;
  end if;
  if new.meta ? 'quiet_hours' then
    perform symphony.validate_quiet_hours(new.kind, new.meta -> 'quiet_hours');
  end if;
  return new;
end $$;
create trigger messages_validate_kind before insert on symphony.messages
  for each row when (new.kind not in ('email.send', 'sms.send') or new.meta ? 'quiet_hours')
  execute function symphony.messages_validate_kind();

-- Values nothing can read, serve or send are refused where they are written. Every
-- timestamptz column carries a CHECK that it is finite (<table>_<column>_finite): one
-- message inserted with created_at = 'infinity' (service_role may set it) could not be
-- read by the sidecar's claim, and took every message claimed with it down. A check
-- rather than a trigger that overwrites the value: it holds for every writer and every
-- statement (the table owner's UPDATE, a restore, a future function), costs no PL/pgSQL
-- call on the dispatch path, and refuses instead of silently replacing what a client
-- sent (an import may carry real creation times).
--
-- available_at: run_at or delay of ±infinity would queue a message that is never sent
-- (infinity) or break symphony.queue_stats (-infinity). queue: a typo such as "emails"
-- would queue a message that no sidecar claims. Both are refused at insert with an
-- error that names them, by a trigger that only runs when one is wrong.
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

-- validate_payload runs the insert-time payload check of a kind without inserting.
create function symphony.validate_payload(kind text, payload jsonb) returns void
language plpgsql set search_path = '' as $$
declare
  k symphony.kinds;
begin
  select * into k from symphony.kinds where symphony.kinds.kind = validate_payload.kind;
  if not found then
    raise exception using errcode = '22023', message = format('symphony: unknown message kind %s', quote_literal(kind));
  end if;
  case kind
    when 'email.send' then perform symphony.validate_email_payload(payload);
    when 'sms.send' then perform symphony.validate_sms_payload(payload);
    else
      if jsonb_typeof(payload) is distinct from 'object' then
        perform symphony._fail(kind, 'payload', 'must be a JSON object, got ' || coalesce(jsonb_typeof(payload), 'nothing'));
      end if;
      if k.validator is not null then
        execute format('select %s($1)', k.validator) using payload;
      end if;
  end case;
end $$;

-- ---------------------------------------------------------------------------
-- Wake-ups: a dispatch NOTIFYs the sidecars that sleep on its queue; busy
-- sidecars poll, and the tick (below) wakes them for delayed work that came due.
-- ---------------------------------------------------------------------------

-- A NOTIFY costs the dispatching transaction a global lock at commit: with 8 clients
-- dispatching single rows it halved throughput. A sidecar that is busy does not need it
-- (it claims again as soon as it has room), so a sidecar registers here only while it
-- sleeps on a queue, and the insert trigger notifies only queues someone sleeps on.
-- Under load sidecars poll every few milliseconds instead and dispatches send no NOTIFY
-- at all; idle, a dispatch wakes them in about a millisecond.
--
-- Unlogged: this is the state of live connections, worthless after a crash.
create unlogged table symphony.listeners (
  queue      text not null,
  worker_id  text not null,
  since      timestamptz not null default now() constraint listeners_since_finite check (isfinite(since)),
  primary key (queue, worker_id)
);
comment on table symphony.listeners is
  'Sidecars sleeping on a queue until notified. Dispatches NOTIFY only queues listed here; busy sidecars poll instead.';

-- Whether any sidecar listens, in a form the insert trigger reads cheaply. Under load
-- no sidecar sleeps, and the trigger's one question is "does anybody listen?". Asked of
-- symphony.listeners it is a query, with an executor started and stopped for it, in
-- every dispatching statement: measured with one client and no commit wait (so that
-- the CPU shows, not the fsync), the trigger cost 27 µs of server CPU per single-row
-- dispatch, 18 of them that query. A one-value sequence read with
-- pg_sequence_last_value() is a function call without a query, about 4 µs.
--
-- symphony.listening is 1 whenever a listener row may exist (0 means none
-- does). It may say 1 when none does: the trigger then asks the table.
-- It must never say 0 while a row exists, or that sidecar's wake-ups
-- would be lost; hence every change goes through symphony.listen and
-- symphony.unlisten, which take turns under one advisory lock: listen sets 1
-- (before its row commits: at worst a dispatch asks the table for nothing),
-- and unlisten sets 0 only when, with every other change committed or waiting
-- behind the lock, no row is left. Other deletions (a stopped worker's rows,
-- a dead one's, dropped by the heartbeat and the tick) leave it at 1, and the
-- tick puts it right.
--
-- Unlogged, as symphony.listeners is: after a crash both start empty (0).
create unlogged sequence symphony.listening minvalue 0 maxvalue 1 start 0;
comment on sequence symphony.listening is
  '1 when a sidecar may be sleeping on a queue (symphony.listeners), 0 when none is; changed only by symphony.listen, symphony.unlisten and symphony.sync_listening.';

-- The lock the changes take turns under: one key, derived from the table.
create function symphony._listeners_lock() returns void
language sql set search_path = '' as $$
  select pg_catalog.pg_advisory_xact_lock('symphony.listeners'::regclass::oid::bigint)
$$;

create function symphony.listen(queue text, worker_id text) returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  perform pg_catalog.setval('symphony.listening', 1, true);
  insert into symphony.listeners (queue, worker_id) values (listen.queue, listen.worker_id)
  on conflict do nothing;
end $$;
comment on function symphony.listen(text, text) is
  'Worker worker_id sleeps on queue until notified: dispatches into it NOTIFY from now on.';

create function symphony.unlisten(queue text, worker_id text) returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  -- Each statement below sees every change committed before the lock was ours.
  delete from symphony.listeners l where l.queue = unlisten.queue and l.worker_id = unlisten.worker_id;
  if not exists (select 1 from symphony.listeners) then
    perform pg_catalog.setval('symphony.listening', 0, true);
  end if;
end $$;
comment on function symphony.unlisten(text, text) is
  'Worker worker_id polls queue while busy: dispatches into it need not NOTIFY for it.';

create function symphony.sync_listening() returns void
language plpgsql set search_path = '' as $$
begin
  perform symphony._listeners_lock();
  perform pg_catalog.setval('symphony.listening',
    case when exists (select 1 from symphony.listeners) then 1 else 0 end, true);
end $$;
comment on function symphony.sync_listening() is
  'Sets symphony.listening from symphony.listeners (the tick calls it after dropping dead sidecars'' rows).';

-- pg_sequence_last_value() reads null until the sequence is first set: set it now, so
-- that the insert trigger's "nobody listens" answer holds from the start.
select symphony.sync_listening();

-- One NOTIFY per statement and queue, not per row: a bulk insert of 10,000 rows wakes
-- the sidecar once. Delayed rows wake nobody; the poll and the tick find them when due.
-- symphony.listening comes first: the statement's rows (its transition table) are read
-- only when someone sleeps. Reading them before finding out cost single-row dispatches
-- from 8 clients 15-23 % of their throughput, against 7-8 % for the trigger returning
-- at once.
create function symphony.messages_notify() returns trigger
language plpgsql set search_path = '' as $$
declare
  q text;
begin
  if current_setting('symphony.notify_inserts', true) = 'off' then
    return null;  -- wake-ups come from the WAL feed (or the poll) instead
  end if;
  if pg_catalog.pg_sequence_last_value('symphony.listening'::regclass) = 0 then
    return null;  -- no sidecar sleeps: busy ones claim again on their own
  end if;
  for q in select distinct i.queue from inserted i where i.available_at <= now() loop
    if exists (select 1 from symphony.listeners l where l.queue = q) then
      perform pg_notify('symphony', q);
    end if;
  end loop;
  return null;
end $$;

create trigger messages_notify after insert on symphony.messages
  referencing new table as inserted
  for each statement execute function symphony.messages_notify();

-- The optional WAL wake-up feed: sidecars run with SYMPHONY_WAKEUP=wal decode inserts
-- into symphony.messages from this publication, through a TEMPORARY logical replication
-- slot (dropped with its connection, so a sidecar that is gone never holds WAL back).
--
-- Where every sidecar uses the WAL feed, the NOTIFYs can be turned off altogether:
--
--   alter database postgres set symphony.notify_inserts = 'off';
--
-- (or `set symphony.notify_inserts = off` in one session, for a bulk load). Nothing is
-- lost either way: the sidecars' fallback poll and the pg_cron tick still find every
-- message.
create publication symphony_messages for table symphony.messages with (publish = 'insert');

-- ---------------------------------------------------------------------------
-- Dispatch.
-- ---------------------------------------------------------------------------
create function symphony.dispatch(kind text, payload jsonb, options jsonb default '{}')
returns bigint language plpgsql set search_path = '' as $$
declare
  allowed constant text[] := array['queue', 'priority', 'delay', 'run_at', 'max_attempts', 'dedupe_key', 'subject', 'meta'];
  bad text;
  new_id bigint;
  opt text;
  v_priority smallint := 0;
  v_max_attempts integer;
  v_run_at timestamptz := now();
  v_delay interval := interval '0';
begin
  options := coalesce(options, '{}');
  if jsonb_typeof(options) <> 'object' then
    raise exception using errcode = '22023', message = 'symphony: dispatch options must be a JSON object';
  end if;
  select key into bad from jsonb_object_keys(options) as key where key <> all (allowed) limit 1;
  if bad is not null then
    raise exception using errcode = '22023',
      message = format('symphony: unknown dispatch option %s (options: %s)', quote_literal(bad), array_to_string(allowed, ', '));
  end if;
  -- Typed options are converted here, so a bad value gets an error that names it.
  if options ?| array['priority', 'max_attempts', 'run_at', 'delay'] then
    begin
      opt := 'priority';
      if options ? opt then v_priority := (options ->> opt)::smallint; end if;
      opt := 'max_attempts';
      if options ? opt then v_max_attempts := (options ->> opt)::integer; end if;
      opt := 'run_at';
      if options ? opt then v_run_at := (options ->> opt)::timestamptz; end if;
      opt := 'delay';
      if options ? opt then v_delay := (options ->> opt)::interval; end if;
    exception when data_exception then
      raise exception using errcode = '22023',
        message = format('symphony: dispatch option %s: %s', opt, sqlerrm),
        hint = 'priority: a whole number; max_attempts: 1 to 100; run_at: a timestamp such as 2026-12-01T09:00:00Z; delay: an interval such as ''10 minutes'' or a number of seconds.';
    end;
  end if;
  insert into symphony.messages (kind, payload, queue, priority, max_attempts, available_at, dedupe_key, subject, meta)
  values (
    dispatch.kind, dispatch.payload,
    options ->> 'queue',
    coalesce(v_priority, 0),
    v_max_attempts,
    coalesce(v_run_at, now()) + coalesce(v_delay, interval '0'),
    options ->> 'dedupe_key',
    options ->> 'subject',
    coalesce(options -> 'meta', '{}'))
  on conflict (dedupe_key) where dedupe_key is not null do nothing
  returning id into new_id;
  if new_id is null then
    select m.id into new_id from symphony.messages m where m.dedupe_key = options ->> 'dedupe_key';
  end if;
  return new_id;
end $$;
comment on function symphony.dispatch(text, jsonb, jsonb) is
  'Dispatch a message; returns its id. options: queue, priority (higher first), delay (interval or seconds), run_at (timestamptz), max_attempts, dedupe_key (a repeat returns the first id), subject, meta.';

create function symphony.send_email("to" text, "from" text, subject text, "text" text default null, html text default null, options jsonb default '{}')
returns bigint language sql set search_path = '' as $$
  select symphony.dispatch('email.send',
    jsonb_strip_nulls(jsonb_build_object('to', "to", 'from', "from", 'subject', subject, 'text', "text", 'html', html)),
    options)
$$;

create function symphony.send_sms("to" text, body text, "from" text default null, options jsonb default '{}')
returns bigint language sql set search_path = '' as $$
  select symphony.dispatch('sms.send',
    jsonb_strip_nulls(jsonb_build_object('to', "to", 'body', body, 'from', "from")),
    options)
$$;

create function symphony.register_kind(kind text, queue text default 'default', max_attempts integer default 5,
  handler text default 'builtin', config jsonb default '{}', description text default null)
returns void language sql set search_path = '' as $$
  insert into symphony.kinds (kind, queue, max_attempts, handler, config, description)
  values (register_kind.kind, register_kind.queue, register_kind.max_attempts, register_kind.handler,
          register_kind.config, register_kind.description)
  on conflict (kind) do update set
    queue = excluded.queue, max_attempts = excluded.max_attempts, handler = excluded.handler,
    config = excluded.config, description = coalesce(excluded.description, symphony.kinds.description)
$$;

-- ---------------------------------------------------------------------------
-- Operator actions. SECURITY DEFINER so that roles which may manage messages still
-- cannot UPDATE the queue directly: state changes go through these checked paths.
-- ---------------------------------------------------------------------------

-- actor names whoever is acting, for audit columns. Through the Data API every request
-- logs in as authenticator, so session_user says nothing; PostgREST puts the request's
-- JWT claims in request.jwt.claims, and actor() records the JWT's role and subject from
-- there ('service_role', 'authenticated:<user id>', with the email after it when the
-- token has one). An explicit `set symphony.actor` (the CLI, the dashboard) comes first.
create function symphony.actor() returns text
language sql stable set search_path = '' as $$
  select coalesce(
    nullif(current_setting('symphony.actor', true), ''),
    (select nullif(concat_ws(' ',
                             concat_ws(':', c ->> 'role', c ->> 'sub'),
                             '(' || (c ->> 'email') || ')'), '')
       from (select nullif(current_setting('request.jwt.claims', true), '')::jsonb as c) claims
      where jsonb_typeof(c) = 'object'),
    session_user::text)
$$;
comment on function symphony.actor() is
  'Who is acting, for audit columns: symphony.actor if set, else the request''s JWT (role:sub (email)), else the session user.';

-- Who did what to a message: cancel, retry and remove are operator actions, recorded
-- like flag changes are (symphony.flag_changes), with symphony.actor(). The symphony
-- CLI and the dashboard set symphony.actor.
create table symphony.message_actions (
  id          bigint generated always as identity primary key,
  message_id  bigint not null,
  action      text not null check (action in ('cancel', 'retry', 'remove')),
  actor       text not null,
  at          timestamptz not null default now() constraint message_actions_at_finite check (isfinite(at)),
  detail      text
);
create index message_actions_message_idx on symphony.message_actions (message_id);
comment on table symphony.message_actions is
  'Audit of operator actions on messages: cancel, retry, remove. Kept after a removed message is gone.';

create function symphony.cancel(message_id bigint, reason text default null) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  who text := symphony.actor();
begin
  update symphony.messages
     set state = 'cancelled', cancelled_by = who, finished_at = now(),
         last_error = coalesce(reason, last_error), locked_by = null, locked_until = null
   where id = message_id and state = 'pending';
  if not found then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail) values (cancel.message_id, 'cancel', who, reason);
  return true;
end $$;
comment on function symphony.cancel(bigint, text) is
  'Cancel a pending message (not one in flight); returns whether it was cancelled. Records who cancelled it.';

-- retry (send a dead or cancelled message again) is defined with the bridges below:
-- it reads symphony.bridge_rows.

-- remove_dead deletes one dead message for good (Symfony Messenger's
-- messenger:failed:remove). Only dead rows: a pending, processing, succeeded or
-- cancelled message is never touched.
create function symphony.remove_dead(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  err text;
begin
  delete from symphony.messages where id = message_id and state = 'dead' returning last_error into err;
  if not found then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail)
  values (remove_dead.message_id, 'remove', symphony.actor(), err);
  return true;
end $$;
comment on function symphony.remove_dead(bigint) is
  'Delete a dead message for good; returns whether it was deleted. Messages in any other state are never touched.';

-- ---------------------------------------------------------------------------
-- Rate limits: a provider's limit is per account, so it is enforced here, once,
-- for every sidecar together. Each queue may draw from a token bucket; the
-- sidecar takes tokens in the same transaction as its claim, so a queue whose
-- bucket is empty is simply not claimed (no lease held, no attempt spent).
-- ---------------------------------------------------------------------------
create table symphony.rate_limits (
  name          text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  per_second    numeric check (per_second > 0),  -- null: unlimited
  burst         integer not null default 1 check (burst >= 1),
  tokens        numeric not null default 0,
  refilled_at   timestamptz not null default clock_timestamp() constraint rate_limits_refilled_at_finite check (isfinite(refilled_at)),
  paused_until  timestamptz constraint rate_limits_paused_until_finite check (isfinite(paused_until)),                      -- set when the provider answers 429
  description   text
);
comment on table symphony.rate_limits is
  'Token buckets shared by all sidecars. per_second null = unlimited. Set per_second and burst to your provider plan (Resend: 2/s by default per team).';

create table symphony.queues (
  name        text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  rate_limit  text references symphony.rate_limits (name) on update cascade,
  description text
);
comment on table symphony.queues is 'Queues and the rate-limit bucket each draws from. A queue missing here is unlimited.';
-- An index under every foreign key (here and below): Studio's Performance Advisor lists
-- each one without (unindexed_foreign_keys), and deleting or renaming the referenced
-- row would scan the whole referencing table.
create index queues_rate_limit_idx on symphony.queues (rate_limit);

insert into symphony.rate_limits (name, description) values
  ('email', 'Every queue that sends through the email provider.'),
  ('sms',   'Every queue that sends through the SMS provider.');
insert into symphony.queues (name, rate_limit, description) values
  ('email',    'email', 'email.send'),
  ('sms',      'sms',   'sms.send'),
  ('campaign', null,    'campaign fan-out'),
  ('drip',     null,    'drip steps'),
  ('default',  null,    'everything else');

-- take_tokens takes up to wanted tokens from bucket and returns how many it got
-- and, when it got none, how long until the next one. The row lock makes
-- concurrent sidecars take turns; hold it only for the claim that follows.
create function symphony.take_tokens(bucket text, wanted integer, out granted integer, out wait_ms integer)
language plpgsql set search_path = '' as $$
declare
  b symphony.rate_limits;
  t timestamptz := clock_timestamp();
  avail numeric;
begin
  select * into b from symphony.rate_limits where name = bucket for update;
  if not found or b.per_second is null then
    granted := wanted; wait_ms := 0;
    return;
  end if;
  if b.paused_until > t then
    granted := 0; wait_ms := ceil(extract(epoch from b.paused_until - t) * 1000);
    return;
  end if;
  avail := least(b.burst, b.tokens + extract(epoch from t - b.refilled_at) * b.per_second);
  granted := greatest(0, least(wanted, floor(avail)))::integer;
  update symphony.rate_limits set tokens = avail - granted, refilled_at = t where name = bucket;
  wait_ms := case when granted > 0 then 0 else ceil((1 - avail) / b.per_second * 1000) end;
end $$;

-- give_tokens returns tokens that a claim took but did not use.
create function symphony.give_tokens(bucket text, n integer) returns void
language sql set search_path = '' as $$
  update symphony.rate_limits set tokens = least(burst, tokens + n)
   where name = bucket and per_second is not null and n > 0
$$;

-- throttle empties a bucket and pauses it: the provider said 429, and every
-- sidecar backs off together.
create function symphony.throttle(bucket text, pause interval) returns void
language sql set search_path = '' as $$
  update symphony.rate_limits
     set tokens = 0, refilled_at = clock_timestamp(),
         paused_until = greatest(coalesce(paused_until, clock_timestamp()), clock_timestamp() + pause)
   where name = bucket
$$;

-- Sidecars reload which queues are limited when a queue's bucket or a bucket's
-- limit changes. (take_tokens itself always reads the live row.)
create function symphony.limits_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('symphony_flags', 'limits');
  return null;
end $$;
create trigger queues_changed after insert or update or delete on symphony.queues
  for each statement execute function symphony.limits_changed();
create trigger rate_limits_changed after update of per_second on symphony.rate_limits
  for each statement execute function symphony.limits_changed();

-- ---------------------------------------------------------------------------
-- Maintenance: lease rescue, the tick, retention.
-- ---------------------------------------------------------------------------

-- rescue_expired returns in-flight messages whose lease ran out (a sidecar died or
-- hung) to pending, or to dead when that was their last attempt. The provider may
-- already have been called for them, and the error entry says so.
create function symphony.rescue_expired() returns integer
language plpgsql set search_path = '' as $$
declare
  n integer;
begin
  with expired as (
    select id from symphony.messages
     where state = 'processing' and locked_until < now()
     order by locked_until
     limit 1000
     for update skip locked
  )
  update symphony.messages m set
    state = case when m.attempts >= m.max_attempts then 'dead' else 'pending' end,
    available_at = now(),
    finished_at = case when m.attempts >= m.max_attempts then now() end,
    last_error = format('lease of %s expired during attempt %s of %s; the provider may have been called',
                        m.locked_by, m.attempts, m.max_attempts),
    errors = m.errors || jsonb_build_array(jsonb_build_object(
               'attempt', m.attempts, 'at', now(), 'code', 'lease_expired', 'worker', m.locked_by,
               'maybe_sent', true, 'error', 'lease expired; the provider may have been called')),
    locked_by = null,
    locked_until = null
  from expired
  where m.id = expired.id;
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('symphony', '*');
  end if;
  return n;
end $$;

-- tick is what pg_cron runs: rescue expired leases and wake the sidecars when work
-- that was delayed has come due. It makes NOTIFY a speed-up, never load-bearing. It
-- also clears listeners of sidecars that stopped beating without saying goodbye, so
-- dispatches stop notifying for them.
create function symphony.tick() returns integer
language plpgsql set search_path = '' as $$
declare
  rescued integer := symphony.rescue_expired();
begin
  delete from symphony.listeners l
   where not exists (select 1 from symphony.workers w
                      where w.id = l.worker_id and w.stopped_at is null
                        and w.heartbeat_at > now() - interval '2 minutes');
  perform symphony.sync_listening();
  if rescued = 0 and exists (
       select 1 from symphony.messages where state = 'pending' and available_at <= now()) then
    perform pg_notify('symphony', '*');
  end if;
  return rescued;
end $$;

-- purge_finished deletes finished messages older than keep, in bounded batches.
create function symphony.purge_finished(keep interval default interval '14 days', batch integer default 10000)
returns bigint language plpgsql set search_path = '' as $$
declare
  total bigint := 0;
  n integer;
begin
  if batch is null or batch < 1 or keep is null then
    raise exception using errcode = '22023', message = 'symphony: purge_finished needs a keep interval and a batch of at least 1';
  end if;
  loop
    delete from symphony.messages
     where id in (select id from symphony.messages
                   where finished_at < now() - keep
                   limit batch);
    get diagnostics n = row_count;
    total := total + n;
    exit when n < batch;
  end loop;
  return total;
end $$;

-- purge_cron_history deletes pg_cron's run history of the jobs named symphony-* and
-- returns how many rows went; without pg_cron it does nothing. pg_cron records every
-- run in cron.job_run_details and never deletes a row: with symphony-tick and
-- symphony-scheduler every 5 seconds that is 34,560 rows a day, for ever. Turning
-- cron.log_run off is a server setting a project's postgres role cannot change, and
-- it would hide every other job's history too. Keeping successful runs an hour and
-- every run (failures included) 7 days holds about 1,800 rows for the two 5-second
-- jobs. On Supabase, postgres (which runs the jobs) may delete from
-- cron.job_run_details but not write cron.job; this needs only the former.
create function symphony.purge_cron_history(keep_succeeded interval default interval '1 hour',
                                            keep_failed interval default interval '7 days')
returns bigint language plpgsql set search_path = '' as $$
declare
  n bigint;
begin
  if keep_succeeded is null or keep_failed is null then
    raise exception using errcode = '22023', message = 'symphony: purge_cron_history needs both keep intervals';
  end if;
  if to_regclass('cron.job_run_details') is null then
    return 0;
  end if;
  -- A run that never finished (its worker died) has no end_time: its start counts.
  delete from cron.job_run_details d
   using cron.job j
   where j.jobid = d.jobid
     and j.jobname like 'symphony-%'
     and coalesce(d.end_time, d.start_time)
         < now() - case when d.status = 'succeeded' then keep_succeeded else keep_failed end;
  get diagnostics n = row_count;
  return n;
end $$;
comment on function symphony.purge_cron_history(interval, interval) is
  'Delete pg_cron''s run history of the symphony-* jobs: successful runs older than keep_succeeded (1 hour), any run older than keep_failed (7 days). Run by pg_cron (symphony-cron-history) every 15 minutes.';

-- ---------------------------------------------------------------------------
-- Suppression: addresses that must not be contacted. Checked by the sidecar right
-- before every email.send and sms.send provider call (one primary-key lookup), so
-- an opt-out recorded after a message was dispatched still stops it.
-- ---------------------------------------------------------------------------

-- normalize_address: email → the bare address, lower-cased ("Ada <Ada@X.io>" →
-- "ada@x.io"); sms → E.164 with spaces, dots, dashes and parentheses removed.
-- Null when the text is not an address of that channel.
create function symphony.normalize_address(channel text, address text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select case channel
    when 'email' then lower(symphony.email_address(btrim(address)))
    when 'sms' then (select p from (select regexp_replace(address, '[\s().-]', '', 'g') as p) s
                      where p ~ '^\+[1-9][0-9]{6,14}$')
  end
$$;

create table symphony.suppressions (
  channel    text not null check (channel in ('email', 'sms')),
  address    text not null,
  reason     text not null check (reason in ('unsubscribed', 'bounced', 'complained', 'stop', 'manual')),
  source     text,
  created_at timestamptz not null default now() constraint suppressions_created_at_finite check (isfinite(created_at)),
  primary key (channel, address)
);
comment on table symphony.suppressions is
  'Addresses never to contact. channel email|sms; address normalized on write (lower-case bare email, E.164 phone); reason unsubscribed|bounced|complained|stop|manual; source says who or what added it (a webhook, a campaign, an operator). Every reason stops every message, except that "unsubscribed" does not stop a message dispatched with meta {"transactional": true}. Delete the row to allow the address again.';

create function symphony.suppressions_normalize() returns trigger
language plpgsql set search_path = '' as $$
declare
  a text := symphony.normalize_address(new.channel, new.address);
begin
  if a is null then
    raise exception using errcode = '22023', column = 'address',
      message = format('symphony: suppression address %s is not %s', coalesce(quote_literal(left(new.address, 100)), 'null'),
                       case new.channel when 'sms' then 'an E.164 phone number' else 'an email address' end);
  end if;
  new.address := a;
  new.source := coalesce(new.source, symphony.actor());
  return new;
end $$;
create trigger suppressions_normalize before insert or update on symphony.suppressions
  for each row execute function symphony.suppressions_normalize();

-- suppress records (or re-records) an address; returns whether it was new.
create function symphony.suppress(channel text, address text, reason text, source text default null) returns boolean
language plpgsql set search_path = '' as $$
declare
  added boolean;
begin
  insert into symphony.suppressions as s (channel, address, reason, source)
  values (suppress.channel, suppress.address, suppress.reason, suppress.source)
  on conflict on constraint suppressions_pkey do update
    set reason = excluded.reason, source = excluded.source, created_at = now()
  returning (xmax = 0) into added;
  return added;
end $$;
comment on function symphony.suppress(text, text, text, text) is
  'Suppress an address: channel email|sms, reason unsubscribed|bounced|complained|stop|manual, source (default: who is acting). Returns true when the address was not suppressed before.';

-- ---------------------------------------------------------------------------
-- Delivery status from the providers' webhooks (Resend, SendGrid, Postmark, Twilio),
-- received by the sidecar (see sidecar/delivery) and recorded here in one place:
--
--   * the message's result gets result.delivery = {status, at, recipient, reason, event};
--   * symphony.delivery_events keeps every distinct event of a message, for history;
--   * hard bounces, complaints and SMS opt-outs (STOP) go on symphony.suppressions.
--
-- Providers deliver at least once and out of order, so recording is idempotent: an
-- event is identified by (provider, event_key), and a message's status only moves
-- towards the more final one (see delivery_rank), the later event winning a tie.
-- ---------------------------------------------------------------------------

-- Statuses, from least to most final. Equal ranks are alternatives that one message
-- does not normally both reach.
create function symphony.delivery_rank(status text) returns integer
language sql immutable parallel safe set search_path = '' as $$
  select case status
    when 'sent' then 1          -- accepted by the provider, on its way
    when 'delayed' then 2       -- deferred, a soft bounce: the provider keeps trying
    when 'delivered' then 3
    when 'undelivered' then 4   -- dropped by the provider, or SMS undelivered/failed
    when 'bounced' then 4       -- a hard bounce
    when 'complained' then 5    -- marked as spam after delivery
  end
$$;
comment on function symphony.delivery_rank(text) is
  'Order of delivery statuses, least to most final: sent, delayed, delivered, undelivered | bounced, complained. Null for anything else.';

create table symphony.delivery_events (
  id          bigint generated always as identity primary key,
  -- Purging a message (symphony.purge_finished) purges its events.
  message_id  bigint not null references symphony.messages (id) on delete cascade,
  provider    text not null check (provider in ('resend', 'sendgrid', 'postmark', 'twilio')),
  event_key   text not null check (length(event_key) between 1 and 500),
  provider_event text,
  status      text not null check (symphony.delivery_rank(status) is not null),
  recipient   text,
  reason      text,
  occurred_at timestamptz not null constraint delivery_events_occurred_at_finite check (isfinite(occurred_at)),
  received_at timestamptz not null default now() constraint delivery_events_received_at_finite check (isfinite(received_at)),
  raw         jsonb,
  constraint delivery_events_key unique (provider, event_key)
);
comment on table symphony.delivery_events is
  'Every distinct delivery event the providers reported for a message (webhooks received by the sidecar). status: sent, delayed, delivered, undelivered, bounced or complained; raw is the provider''s event. result.delivery on the message holds the most final one.';
-- Reading a message's history, and the cascade when messages are purged.
create index delivery_events_message_idx on symphony.delivery_events (message_id);

-- Finding a message by the id its provider gave it. Partial: only sent messages have
-- one, and pending work never enters the index. The log provider's captures have ids
-- too, but no provider reports delivery events for them: indexing them would only cost
-- each completion one more index entry (about 80 bytes of WAL and two buffer visits per
-- message, measured with the claim + complete loop of bench/NOTES.md). record_delivery's
-- lookup states the same condition, so the planner can use the index.
create index messages_provider_message_id_idx on symphony.messages ((result ->> 'provider_message_id'))
  where (result ->> 'provider_message_id') is not null and (result ->> 'provider') <> 'log';

-- Opt-outs and opt-ins from the providers' webhooks, applied in event order and once.
--
-- A Twilio request carries no timestamp in its signature, so a validly signed START can
-- be posted again at any time, and a replayed START must not lift a later STOP. Every
-- consent event (an opt-out or opt-in, and any
-- event that adds a "stop" or "unsubscribed" suppression, such as Twilio's error 21610)
-- is kept in symphony.opt_events under its (provider, event_key), and changes the
-- suppression list only if it is new and no later event for the same address is known:
--
--   * a copy of an event already recorded changes nothing ("duplicate");
--   * an event older than one already recorded for the address is kept, but changes
--     nothing ("superseded"): the newer event stands.
--
-- Order is (occurred_at, id): the provider's time where it gives one (SendGrid,
-- Postmark), otherwise the time the sidecar first received the event (Twilio's inbound
-- messages carry no time; Twilio posts them as they arrive), with ties going to the
-- later received. Keys are kept, not purged: a purged key would let its old copy count
-- as news. Opt-outs are few, so the table stays small.

create table symphony.opt_events (
  id          bigint generated always as identity primary key,
  provider    text not null check (provider in ('resend', 'sendgrid', 'postmark', 'twilio')),
  event_key   text not null check (length(event_key) between 1 and 500),
  channel     text not null check (channel in ('email', 'sms')),
  address     text not null,
  opted_out   boolean not null,
  -- the suppression reason an opt-out adds (stop, unsubscribed, bounced, complained)
  reason      text check (opted_out = (reason is not null)),
  occurred_at timestamptz not null constraint opt_events_occurred_at_finite check (isfinite(occurred_at)),
  received_at timestamptz not null default now() constraint opt_events_received_at_finite check (isfinite(received_at)),
  constraint opt_events_key unique (provider, event_key)
);
comment on table symphony.opt_events is
  'Every distinct opt-out and opt-in the providers reported (Twilio STOP/START and 21610, SendGrid and Postmark unsubscribes), by (provider, event_key). Only the latest event for an address, by (occurred_at, id), changes symphony.suppressions; copies and older events change nothing.';
-- The latest event for an address.
create index opt_events_address_idx on symphony.opt_events (channel, address, occurred_at desc, id desc);

-- apply_opt_event records one consent event and applies it if it is the latest for the
-- address. Returns 'duplicate', 'superseded' or 'applied'. Called by record_delivery.
create function symphony.apply_opt_event(
  provider text, event_key text, channel text, address text, opted_out boolean, reason text, occurred_at timestamptz)
returns text language plpgsql set search_path = '' as $$
declare
  ev bigint;
begin
  -- One address at a time, so two events for it cannot both believe they are the latest.
  perform pg_catalog.pg_advisory_xact_lock('symphony.opt_events'::regclass::oid::integer,
                                           pg_catalog.hashtext(apply_opt_event.channel || ':' || apply_opt_event.address));
  insert into symphony.opt_events as o (provider, event_key, channel, address, opted_out, reason, occurred_at)
  values (apply_opt_event.provider, apply_opt_event.event_key, apply_opt_event.channel, apply_opt_event.address,
          apply_opt_event.opted_out, case when apply_opt_event.opted_out then apply_opt_event.reason end,
          apply_opt_event.occurred_at)
  on conflict on constraint opt_events_key do nothing
  returning o.id into ev;
  if ev is null then
    return 'duplicate';
  end if;
  if exists (select 1 from symphony.opt_events o
              where o.channel = apply_opt_event.channel and o.address = apply_opt_event.address
                and (o.occurred_at, o.id) > (apply_opt_event.occurred_at, ev)) then
    return 'superseded';
  end if;
  if apply_opt_event.opted_out then
    -- An address already there keeps its first reason.
    insert into symphony.suppressions (channel, address, reason, source)
    values (apply_opt_event.channel, apply_opt_event.address, apply_opt_event.reason, 'webhook:' || apply_opt_event.provider)
    on conflict on constraint suppressions_pkey do nothing;
  else
    -- Twilio lets the number receive again after START; so do we, unless an operator or
    -- another source suppressed it for another reason.
    delete from symphony.suppressions s
     where s.channel = apply_opt_event.channel and s.address = apply_opt_event.address and s.reason = 'stop';
  end if;
  return 'applied';
end $$;
comment on function symphony.apply_opt_event(text, text, text, text, boolean, text, timestamptz) is
  'Records one opt-out or opt-in (symphony.opt_events) and changes symphony.suppressions only if it is new and the latest for the address. Returns duplicate, superseded or applied.';

-- record_delivery records one webhook event and returns what it did:
--   recorded    the message's result.delivery now says this event;
--   superseded  kept in history; result.delivery already holds a more final (or later) one;
--   duplicate   this event (provider, event_key) was recorded before: nothing changed;
--   unknown     no message has this provider id (sent by legacy code, say, or purged);
--   opt_out / opt_in   an SMS opt-out or opt-in with no message (Twilio inbound STOP/START).
-- suppress, when set (bounced, complained, stop, unsubscribed), puts the recipient on
-- the suppression list, also for unknown messages: the address is what bounced. An
-- address already there keeps its first reason. A recipient that is not a valid
-- address of the channel (a WhatsApp number, say) is not suppressed.
create function symphony.record_delivery(
  provider text, provider_message_id text, provider_event text, status text, recipient text, reason text,
  occurred_at timestamptz, suppress text, event_key text, raw jsonb default null)
returns text language plpgsql set search_path = '' as $$
declare
  channel text := case record_delivery.provider when 'twilio' then 'sms' else 'email' end;
  addr text := symphony.normalize_address(channel, record_delivery.recipient);
  msg bigint;
  cur jsonb;
  r text := left(record_delivery.reason, 500);
  consent text;
begin
  if record_delivery.provider not in ('resend', 'sendgrid', 'postmark', 'twilio') then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown provider %L', record_delivery.provider);
  end if;
  if record_delivery.status in ('opt_in', 'opt_out') or record_delivery.suppress in ('stop', 'unsubscribed') then
    -- A consent event: in order, once (symphony.apply_opt_event).
    if addr is not null then
      consent := symphony.apply_opt_event(record_delivery.provider, record_delivery.event_key, channel, addr,
                                          record_delivery.status <> 'opt_in', coalesce(record_delivery.suppress, 'stop'),
                                          record_delivery.occurred_at);
    end if;
    if record_delivery.status in ('opt_in', 'opt_out') then
      return case when consent in ('duplicate', 'superseded') then consent else record_delivery.status end;
    end if;
  elsif record_delivery.suppress is not null and addr is not null then
    insert into symphony.suppressions as s (channel, address, reason, source)
    values (channel, addr, record_delivery.suppress, 'webhook:' || record_delivery.provider)
    on conflict on constraint suppressions_pkey do nothing;
  end if;
  if symphony.delivery_rank(record_delivery.status) is null then
    raise exception using errcode = '22023', message = format('symphony: record_delivery: unknown status %L', record_delivery.status);
  end if;

  -- The row lock orders concurrent events of one message.
  select m.id, m.result -> 'delivery' into msg, cur
    from symphony.messages m
   where (m.result ->> 'provider_message_id') = record_delivery.provider_message_id
     and m.result ->> 'provider' = record_delivery.provider
     and (m.result ->> 'provider') <> 'log' -- matches the index's predicate, so the index is used
   order by m.id desc
   limit 1
     for update;
  if msg is null then
    return 'unknown';
  end if;
  insert into symphony.delivery_events (message_id, provider, event_key, provider_event, status, recipient, reason, occurred_at, raw)
  values (msg, record_delivery.provider, record_delivery.event_key, record_delivery.provider_event, record_delivery.status,
          record_delivery.recipient, r, record_delivery.occurred_at, record_delivery.raw)
  on conflict on constraint delivery_events_key do nothing;
  if not found then
    return 'duplicate';
  end if;
  if cur is not null
     and (symphony.delivery_rank(cur ->> 'status'), (cur ->> 'at')::timestamptz)
         >= (symphony.delivery_rank(record_delivery.status), record_delivery.occurred_at) then
    return 'superseded';
  end if;
  update symphony.messages m
     set result = jsonb_set(coalesce(m.result, '{}'), '{delivery}', jsonb_strip_nulls(jsonb_build_object(
           'status', record_delivery.status, 'at', record_delivery.occurred_at,
           'recipient', record_delivery.recipient, 'reason', r,
           'event', record_delivery.provider_event)))
   where m.id = msg;
  return 'recorded';
end $$;
comment on function symphony.record_delivery(text, text, text, text, text, text, timestamptz, text, text, jsonb) is
  'Records one provider delivery event (the sidecar''s webhooks call it): result.delivery, symphony.delivery_events, and the suppression list for hard bounces and complaints; opt-outs and opt-ins go through symphony.apply_opt_event, in event order and once. Idempotent per (provider, event_key).';

-- ===========================================================================
-- 2. Flags and rollout.
-- ===========================================================================

-- ---------------------------------------------------------------------------
-- Flags: the migration switches operators change in Studio. No redeploy needed.
-- ---------------------------------------------------------------------------
create table symphony.flags (
  name            text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  enabled         boolean not null default false,
  rollout_percent integer not null default 0 check (rollout_percent between 0 and 100),
  description     text,
  updated_at      timestamptz not null default now() constraint flags_updated_at_finite check (isfinite(updated_at)),
  updated_by      text not null default current_user
);
comment on table symphony.flags is
  'Rollout flags. symphony.rollout(flag, subject) = master flag "symphony" on AND this flag on AND the subject''s stable hash bucket (0-99) below rollout_percent.';

insert into symphony.flags (name, enabled, rollout_percent, description) values
  ('symphony',            false, 100, 'Master switch (was SYMPHONY_ENABLED). Off: nothing is routed to Symphony and the sidecar claims nothing.'),
  ('email_queue',         false, 0,   'Email queue migration (was SYMPHONY_EMAIL_QUEUE_ENABLED).'),
  ('campaign_processing', false, 0,   'Campaign processing migration (was SYMPHONY_CAMPAIGN_PROCESSING_ENABLED).'),
  ('sms_drip',            false, 0,   'SMS drip migration (was SYMPHONY_SMS_DRIP_ENABLED).');

create table symphony.flag_changes (
  id              bigint generated always as identity primary key,
  flag            text not null,
  changed_at      timestamptz not null default now() constraint flag_changes_changed_at_finite check (isfinite(changed_at)),
  changed_by      text not null,
  old_enabled     boolean,
  new_enabled     boolean,
  old_rollout_percent integer,
  new_rollout_percent integer
);
comment on table symphony.flag_changes is 'Audit trail of every flag change: who, when, old and new values.';

-- ---------------------------------------------------------------------------
-- Routing: the one decision, shared by triggers, the sidecar and legacy cron code.
-- ---------------------------------------------------------------------------

-- bucket is a subject's stable place (0-99) for one flag: the first 32 bits of
-- md5(flag || ':' || subject) mod 100. md5 never changes, so neither does a bucket,
-- and raising rollout_percent only ever adds subjects. Other languages can compute it.
create function symphony.bucket(flag text, subject text) returns integer
language sql immutable strict parallel safe set search_path = '' as $$
  select (('x' || substr(md5(flag || ':' || subject), 1, 8))::bit(32)::bigint % 100)::integer
$$;

create function symphony.rollout(flag text, subject text) returns boolean
language plpgsql stable parallel safe set search_path = '' as $$
declare
  f symphony.flags;
  master_on boolean;
begin
  select * into f from symphony.flags where name = rollout.flag;
  if not found then
    raise exception using errcode = '22023',
      message = format('symphony: unknown flag %s', coalesce(quote_literal(rollout.flag), 'null')),
      hint = 'Flags are rows of symphony.flags.';
  end if;
  select enabled into master_on from symphony.flags where name = 'symphony';
  if not (coalesce(master_on, false) and f.enabled) then
    return false;
  end if;
  if rollout.subject is null then
    return f.rollout_percent = 100;  -- no subject to hash: only a full rollout takes it
  end if;
  return symphony.bucket(f.name, rollout.subject) < f.rollout_percent;
end $$;
comment on function symphony.rollout(text, text) is
  'Is this subject routed to Symphony for this flag? master "symphony" enabled AND flag enabled AND symphony.bucket(flag, subject) < rollout_percent.';

-- Flag changes are stamped and audited. SECURITY DEFINER because the audit table
-- must not be writable by the roles that change flags.
create function symphony.flags_audit() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  actor text := symphony.actor();
begin
  if tg_op = 'UPDATE' then
    if new.enabled is not distinct from old.enabled and new.rollout_percent is not distinct from old.rollout_percent then
      return new;
    end if;
    new.updated_at := now();
    new.updated_by := actor;
  end if;
  insert into symphony.flag_changes (flag, changed_by, old_enabled, new_enabled, old_rollout_percent, new_rollout_percent)
  values (coalesce(new.name, old.name), actor, old.enabled, new.enabled, old.rollout_percent, new.rollout_percent);
  perform pg_notify('symphony_flags', coalesce(new.name, old.name));
  return new;
end $$;

create trigger flags_audit before insert or update on symphony.flags
  for each row execute function symphony.flags_audit();

-- ===========================================================================
-- 3. Bridges from legacy queue tables.
-- ===========================================================================

-- A bridge moves a cron-driven workload (the seed's public.email_queue, or any table of
-- yours) to Symphony one rollout percentage at a time, and back, without the two
-- systems ever both handling a row.
--
-- How a bridge works:
--   * On INSERT into the source table, symphony.rollout(flag, subject) decides the
--     row's owner once, and writes it into the row's owner column (handled_by by
--     default): 'symphony' rows also become a message; 'legacy' rows are left for
--     the old cron code, which must skip rows whose owner is 'symphony'.
--   * When Symphony finishes a bridged message, the result is written back to the
--     source row (status, sent_at, provider id, error).
--   * Turning the flag off hands every bridged message Symphony has not started
--     back to legacy, in the same transaction: message cancelled (by
--     'rollback:<flag>'), owner column 'legacy'. Messages in flight finish and
--     write back. Raising the percentage only routes new rows.
--   * symphony.bridge_rows records every routed row with both systems' outcomes;
--     symphony.migration_compare compares them per flag and system.

create table symphony.bridges (
  name               text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  source             regclass not null unique,
  flag               text not null references symphony.flags (name),
  kind               text not null references symphony.kinds (kind),
  payload_map        jsonb not null check (jsonb_typeof(payload_map) = 'object'),
  id_column          text not null,
  subject_column     text not null,
  owner_column       text not null,
  status_column      text,
  pending_value      text,
  sent_value         text,
  failed_value       text,
  sent_at_column     text,
  provider_id_column text,
  error_column       text,
  created_at         timestamptz not null default now() constraint bridges_created_at_finite check (isfinite(created_at))
);
comment on table symphony.bridges is
  'Legacy tables bridged to Symphony. Install with symphony.install_bridge(); remove with symphony.uninstall_bridge().';
create index bridges_flag_idx on symphony.bridges (flag);
create index bridges_kind_idx on symphony.bridges (kind);

create table symphony.bridge_rows (
  bridge          text not null references symphony.bridges (name) on delete cascade,
  source_id       text not null,
  subject         text,
  routed_to       text not null check (routed_to in ('legacy', 'symphony')),  -- the decision at insert, never changed
  owner           text not null check (owner in ('legacy', 'symphony')),      -- who handles it now
  message_id      bigint,
  created_at      timestamptz not null default now() constraint bridge_rows_created_at_finite check (isfinite(created_at)),
  handed_back_at  timestamptz constraint bridge_rows_handed_back_at_finite check (isfinite(handed_back_at)),
  finished_at     timestamptz constraint bridge_rows_finished_at_finite check (isfinite(finished_at)),
  outcome         text check (outcome in ('succeeded', 'failed')),
  primary key (bridge, source_id)
);
create index bridge_rows_message_idx on symphony.bridge_rows (message_id) where message_id is not null;
create index bridge_rows_pending_symphony_idx on symphony.bridge_rows (bridge)
  where owner = 'symphony' and finished_at is null;
comment on table symphony.bridge_rows is
  'Every bridged row: the routing decision, who handles it now, and how it ended. Feeds symphony.migration_compare.';

-- _bridge_column checks that a column exists on a table, for clear install errors.
create function symphony._bridge_column(source regclass, col text, what text) returns text
language plpgsql stable set search_path = '' as $$
begin
  if col is null then
    return null;
  end if;
  if not exists (select 1 from pg_catalog.pg_attribute
                  where attrelid = source and attname = col and attnum > 0 and not attisdropped) then
    raise exception using errcode = '42703',
      message = format('symphony: %s column "%s" does not exist on %s', what, col, source);
  end if;
  return col;
end $$;

-- install_bridge bridges source to Symphony under flag, dispatching kind with a
-- payload built from the row: payload_map maps each payload field to a source
-- column name, or to {"const": value} for a fixed value. options (all optional):
--   id_column (default 'id'), subject_column (what rollout hashes; default the id),
--   owner_column (default 'handled_by'; added as a text column if missing),
--   status_column, pending_value (only rows inserted with this status are routed;
--   default 'pending' when status_column is set), sent_value ('sent'),
--   failed_value ('failed'), sent_at_column, provider_id_column, error_column.
create function symphony.install_bridge(name text, source regclass, flag text, kind text,
  payload_map jsonb, options jsonb default '{}')
returns text language plpgsql set search_path = '' as $$
declare
  allowed constant text[] := array['id_column', 'subject_column', 'owner_column', 'status_column',
    'pending_value', 'sent_value', 'failed_value', 'sent_at_column', 'provider_id_column', 'error_column'];
  bad text;
  f record;
  b symphony.bridges;
begin
  options := coalesce(options, '{}');
  select key into bad from jsonb_object_keys(options) as key where key <> all (allowed) limit 1;
  if bad is not null then
    raise exception using errcode = '22023',
      message = format('symphony: unknown bridge option %L (options: %s)', bad, array_to_string(allowed, ', '));
  end if;
  if not exists (select 1 from symphony.flags where flags.name = install_bridge.flag) then
    raise exception using errcode = '22023', message = format('symphony: unknown flag %L', flag),
      hint = 'Flags are rows of symphony.flags.';
  end if;
  if not exists (select 1 from symphony.kinds where kinds.kind = install_bridge.kind) then
    raise exception using errcode = '22023', message = format('symphony: unknown message kind %L', kind);
  end if;
  if jsonb_typeof(payload_map) is distinct from 'object' or payload_map = '{}' then
    raise exception using errcode = '22023',
      message = 'symphony: payload_map must map payload fields to source columns, e.g. {"to": "recipient", "from": {"const": "hi@acme.test"}}';
  end if;
  for f in select * from jsonb_each(payload_map) loop
    if jsonb_typeof(f.value) = 'string' then
      perform symphony._bridge_column(source, f.value #>> '{}', format('payload field %I:', f.key));
    elsif not (jsonb_typeof(f.value) = 'object' and f.value ? 'const') then
      raise exception using errcode = '22023',
        message = format('symphony: payload field %I must map to a column name or {"const": value}', f.key);
    end if;
  end loop;

  b.name := name;
  b.source := source;
  b.flag := flag;
  b.kind := kind;
  b.payload_map := payload_map;
  b.id_column := symphony._bridge_column(source, coalesce(options ->> 'id_column', 'id'), 'id');
  b.subject_column := symphony._bridge_column(source, coalesce(options ->> 'subject_column', b.id_column), 'subject');
  b.owner_column := coalesce(options ->> 'owner_column', 'handled_by');
  b.status_column := symphony._bridge_column(source, options ->> 'status_column', 'status');
  b.pending_value := case when b.status_column is not null then coalesce(options ->> 'pending_value', 'pending') end;
  b.sent_value := coalesce(options ->> 'sent_value', 'sent');
  b.failed_value := coalesce(options ->> 'failed_value', 'failed');
  b.sent_at_column := symphony._bridge_column(source, options ->> 'sent_at_column', 'sent_at');
  b.provider_id_column := symphony._bridge_column(source, options ->> 'provider_id_column', 'provider id');
  b.error_column := symphony._bridge_column(source, options ->> 'error_column', 'error');
  b.created_at := now();

  -- The owner column is the legacy code's whole check: it handles a row only
  -- when the owner is not 'symphony'. Rows from before the bridge stay null (legacy).
  execute format('alter table %s add column if not exists %I text', source, b.owner_column);
  perform symphony._bridge_column(source, b.owner_column, 'owner');

  insert into symphony.bridges values (b.*);
  execute format('create trigger symphony_bridge_route before insert on %s for each row execute function symphony.bridge_route(%L)',
                 source, name);
  if b.status_column is not null then
    execute format('create trigger symphony_bridge_observe after update of %I on %s for each row execute function symphony.bridge_observe(%L)',
                   b.status_column, source, name);
  end if;
  return format('bridge %s: rows inserted into %s are routed by flag %s; the legacy code must skip rows where %I = ''symphony''',
                name, source, flag, b.owner_column);
end $$;

create function symphony.uninstall_bridge(name text) returns void
language plpgsql set search_path = '' as $$
declare
  b symphony.bridges;
begin
  select * into b from symphony.bridges where bridges.name = uninstall_bridge.name;
  if not found then
    raise exception using errcode = '22023', message = format('symphony: no bridge named %L', name);
  end if;
  if exists (select 1 from symphony.bridge_rows r where r.bridge = b.name and r.owner = 'symphony' and r.finished_at is null) then
    raise exception using errcode = '55000',
      message = format('symphony: bridge %s still has rows Symphony is handling; turn flag %s off and let them finish first', b.name, b.flag);
  end if;
  execute format('drop trigger if exists symphony_bridge_route on %s', b.source);
  execute format('drop trigger if exists symphony_bridge_observe on %s', b.source);
  delete from symphony.bridges where bridges.name = b.name;
end $$;

-- bridge_route decides a new source row's owner. SECURITY DEFINER: whoever may
-- insert into the source table (the app, perhaps through RLS) may not touch the
-- symphony schema, yet its rows must become messages. It runs only as a trigger.
create function symphony.bridge_route() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  rec jsonb := to_jsonb(new);
  source_id text;
  subj text;
  payload jsonb := '{}';
  f record;
  mid bigint;
  routed text := 'legacy';
begin
  select * into b from symphony.bridges where name = tg_argv[0];
  if not found or (b.status_column is not null and rec ->> b.status_column is distinct from b.pending_value) then
    return new;  -- not a row to send (a draft, an already-sent import)
  end if;
  source_id := rec ->> b.id_column;
  subj := rec ->> b.subject_column;
  if source_id is null then
    raise exception using errcode = '23502',
      message = format('symphony: bridge %s needs %I to be set when the row is inserted (a default works)', b.name, b.id_column);
  end if;
  if symphony.rollout(b.flag, subj) then
    for f in select * from jsonb_each(b.payload_map) loop
      payload := payload || jsonb_build_object(f.key,
        case when jsonb_typeof(f.value) = 'object' then f.value -> 'const' else rec -> (f.value #>> '{}') end);
    end loop;
    begin
      insert into symphony.messages (kind, payload, subject, dedupe_key, meta)
      values (b.kind, jsonb_strip_nulls(payload), subj, format('bridge:%s:%s', b.name, source_id),
              jsonb_build_object('bridge', b.name, 'source_id', source_id))
      returning id into mid;
      routed := 'symphony';
    exception when sqlstate '22023' or sqlstate '54000' or unique_violation then
      -- Symphony would refuse this row (a malformed address, say, or a source id
      -- reused after a delete). The legacy system handled such rows before; it
      -- still does, rather than the app's insert failing.
      raise warning 'symphony: bridge % left row % to legacy: %', b.name, source_id, sqlerrm;
    end;
  end if;
  insert into symphony.bridge_rows (bridge, source_id, subject, routed_to, owner, message_id)
  values (b.name, source_id, subj, routed, routed, mid)
  on conflict on constraint bridge_rows_pkey do update
     set subject = excluded.subject, routed_to = excluded.routed_to, owner = excluded.owner,
         message_id = excluded.message_id, created_at = now(), handed_back_at = null,
         finished_at = null, outcome = null;
  new := jsonb_populate_record(new, jsonb_build_object(b.owner_column, routed));
  return new;
end $$;

-- bridge_observe records the legacy system's outcome when it updates the status
-- of a row it owns, so both systems can be compared.
create function symphony.bridge_observe() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  rec jsonb := to_jsonb(new);
  st text;
begin
  select * into b from symphony.bridges where name = tg_argv[0];
  st := rec ->> b.status_column;
  if st is distinct from to_jsonb(old) ->> b.status_column and st in (b.sent_value, b.failed_value) then
    update symphony.bridge_rows
       set finished_at = now(), outcome = case when st = b.sent_value then 'succeeded' else 'failed' end
     where bridge = b.name and source_id = rec ->> b.id_column and owner = 'legacy' and finished_at is null;
  end if;
  return null;
end $$;

-- bridge_write_back copies a finished bridged message's result to its source row.
-- SECURITY DEFINER so the sidecar's completion, whatever its role, can update the
-- source table. Fires only for bridged messages (see the trigger's WHEN).
create function symphony.bridge_write_back() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  r symphony.bridge_rows;
  sets text[] := '{}';
  ok boolean := new.state = 'succeeded';
begin
  select * into r from symphony.bridge_rows
   where bridge = new.meta ->> 'bridge' and source_id = new.meta ->> 'source_id';
  if not found or r.owner <> 'symphony' or r.message_id is distinct from new.id then
    return null;  -- handed back to legacy (a rollback cancelled it): legacy writes its own result
  end if;
  select * into b from symphony.bridges where name = r.bridge;
  update symphony.bridge_rows
     set finished_at = now(), outcome = case when ok then 'succeeded' else 'failed' end
   where bridge = r.bridge and source_id = r.source_id;
  if b.status_column is not null then
    sets := sets || format('%I = %L', b.status_column, case when ok then b.sent_value else b.failed_value end);
  end if;
  if b.sent_at_column is not null and ok then
    sets := sets || format('%I = %L', b.sent_at_column, new.finished_at);
  end if;
  if b.provider_id_column is not null and ok then
    sets := sets || format('%I = %L', b.provider_id_column, new.result ->> 'provider_message_id');
  end if;
  if b.error_column is not null then
    sets := sets || format('%I = %L', b.error_column,
      case when ok then null when new.state = 'cancelled' then 'cancelled by ' || new.cancelled_by else new.last_error end);
  end if;
  if cardinality(sets) > 0 then
    execute format('update %s set %s where %I::text = $1', b.source, array_to_string(sets, ', '), b.id_column)
      using r.source_id;
  end if;
  return null;
end $$;

create trigger messages_bridge_write_back after update of state on symphony.messages
  for each row
  when (new.meta ? 'bridge' and new.state in ('succeeded', 'dead', 'cancelled') and old.state is distinct from new.state)
  execute function symphony.bridge_write_back();

-- bridge_hand_back gives legacy back every bridged message of flag that Symphony
-- has not started (pending, never attempted), atomically: the message is
-- cancelled by 'rollback:<flag>' and the source row's owner becomes 'legacy'.
-- A claim racing with it either wins (the message is in flight and finishes with
-- Symphony) or loses (the row is legacy's); never both. Returns how many.
create function symphony.bridge_hand_back(flag text) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  b symphony.bridges;
  ids text[];
  total integer := 0;
begin
  for b in select * from symphony.bridges where bridges.flag = bridge_hand_back.flag loop
    with handed as (
      update symphony.messages m
         set state = 'cancelled', cancelled_by = 'rollback:' || b.flag, finished_at = now()
        from symphony.bridge_rows r
       where r.bridge = b.name and r.owner = 'symphony' and r.finished_at is null
         and m.id = r.message_id and m.state = 'pending' and m.attempts = 0
      returning r.source_id
    ), moved as (
      update symphony.bridge_rows r
         set owner = 'legacy', handed_back_at = now()
        from handed h
       where r.bridge = b.name and r.source_id = h.source_id
      returning r.source_id
    )
    select array_agg(source_id) into ids from moved;
    if ids is not null then
      execute format('update %s set %I = ''legacy'' where %I::text = any($1)', b.source, b.owner_column, b.id_column)
        using ids;
      total := total + cardinality(ids);
    end if;
  end loop;
  return total;
end $$;

-- Turning a flag off is the rollback: hand its unstarted rows back at once.
create function symphony.flags_hand_back() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  n integer;
begin
  n := symphony.bridge_hand_back(new.name);
  if n > 0 then
    raise notice 'symphony: flag % off: % unstarted rows handed back to the legacy system', new.name, n;
  end if;
  return null;
end $$;

create trigger flags_hand_back after update of enabled on symphony.flags
  for each row when (old.enabled and not new.enabled)
  execute function symphony.flags_hand_back();

-- bridge_owner answers the legacy code's question, "is this row mine?", for
-- code that cannot read the owner column: 'symphony', 'legacy', or null for a
-- row the bridge never routed (from before it, or not pending): legacy's.
create function symphony.bridge_owner(bridge text, source_id text) returns text
language sql stable set search_path = '' as $$
  select owner from symphony.bridge_rows r where r.bridge = bridge_owner.bridge and r.source_id = bridge_owner.source_id
$$;

-- Only Symphony changes who owns a bridged row. The owner column (handled_by) is the
-- legacy code's whole check, and it lives in the app's own table, where the API roles
-- may write (on Supabase anon and authenticated get every privilege on a new table in
-- public, and with RLS off nothing stops them). Setting handled_by = 'legacy' on a row
-- whose Symphony message is still pending would make both systems send it; setting
-- 'symphony' on a row legacy owns would make neither. So every bridged table gets a
-- trigger that refuses any change of the owner column other than Symphony's own: the
-- column may only ever say what symphony.bridge_rows says (bridge_hand_back moves
-- both), and a row the bridge never routed can never be marked 'symphony'.
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

-- retry sends a dead or cancelled message again from its first attempt. It refuses a
-- bridged message that is no longer Symphony's to send: a rollback (a bridge's flag
-- turned off) cancels the bridged messages Symphony had not started and hands their
-- rows back to the legacy system, which then sends them, so retrying one here would
-- send it twice (DESIGN invariant 3). The same holds for a message whose bridge row
-- was routed again and now names a newer message. A bridged message Symphony still
-- owns (one that died here, say) is retried as usual.
create function symphony.retry(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  q text;
  was text;
  msg symphony.messages;
  r symphony.bridge_rows;
begin
  select * into msg from symphony.messages where id = message_id for update;
  was := msg.state;
  if msg.meta ? 'bridge' and msg.state in ('dead', 'cancelled') then
    select * into r from symphony.bridge_rows
     where bridge = msg.meta ->> 'bridge' and source_id = msg.meta ->> 'source_id';
    if r.owner = 'legacy' or msg.cancelled_by like 'rollback:%' then
      raise exception using errcode = '55000',
        message = format('symphony: message %s was handed back to the legacy system (bridge %s, row %s), which sends it; retrying it here would send it twice',
                         message_id, msg.meta ->> 'bridge', msg.meta ->> 'source_id'),
        hint = 'Send it from the legacy system; to move the row to Symphony, insert it again with the flag on.';
    end if;
    if found and r.message_id is distinct from message_id then
      raise exception using errcode = '55000',
        message = format('symphony: message %s is no longer the message of bridge %s row %s (now %s); retrying it could send that row twice',
                         message_id, msg.meta ->> 'bridge', msg.meta ->> 'source_id', coalesce(r.message_id::text, 'none')),
        hint = 'Retry the row''s current message, if any.';
    end if;
  end if;
  update symphony.messages
     set state = 'pending', attempts = 0, available_at = now(), finished_at = null,
         cancelled_by = null, result = null
   where id = message_id and state in ('dead', 'cancelled')
  returning queue into q;
  if q is null then
    return false;
  end if;
  insert into symphony.message_actions (message_id, action, actor, detail)
  values (retry.message_id, 'retry', symphony.actor(), 'was ' || was);
  perform pg_notify('symphony', q);
  return true;
end $$;
comment on function symphony.retry(bigint) is
  'Send a dead or cancelled message again from its first attempt; its error history is kept. Refused for a bridged message handed back to the legacy system.';


-- Compare both systems per flag: "monitor both systems, compare results" in one query.
-- security_invoker like every other view: its readers (service_role) may read both
-- tables anyway, and the Security Advisor's security_definer_view never applies.
create view symphony.migration_compare with (security_invoker = true) as
select b.flag,
       r.bridge,
       r.owner as system,
       count(*) as rows,
       count(*) filter (where r.outcome = 'succeeded') as succeeded,
       count(*) filter (where r.outcome = 'failed') as failed,
       count(*) filter (where r.finished_at is null) as in_progress,
       count(*) filter (where r.handed_back_at is not null) as handed_back,
       round(100.0 * count(*) filter (where r.outcome = 'succeeded')
             / nullif(count(*) filter (where r.finished_at is not null), 0), 2) as success_rate_pct,
       round((percentile_cont(0.5) within group (order by extract(epoch from r.finished_at - r.created_at)))::numeric, 3) as p50_latency_s,
       round((percentile_cont(0.95) within group (order by extract(epoch from r.finished_at - r.created_at)))::numeric, 3) as p95_latency_s,
       max(r.created_at) as last_row_at
  from symphony.bridge_rows r
  join symphony.bridges b on b.name = r.bridge
 group by b.flag, r.bridge, r.owner;
comment on view symphony.migration_compare is
  'Per flag, bridge and system (legacy or symphony): rows handled, successes, failures, in progress, handed back, success rate and latency (insert to finish).';

-- ===========================================================================
-- 4. Campaigns, SMS drips, recurring schedules and templates.
-- ===========================================================================

-- Campaigns and drips are rows; the sidecar's campaign.process and drip.step handlers
-- call the functions below, which do the bookkeeping set-based and in one transaction,
-- so a crash at any point leaves either everything of a batch or nothing. Templates are
-- rendered by the sidecar (its template package); the schema checks their syntax and
-- their variables at insert, the earliest point.

-- ---------------------------------------------------------------------------
-- The kinds that do the work: campaign.process fans a campaign out, drip.step
-- sends one step of a drip.
-- ---------------------------------------------------------------------------

-- _check_id: a required positive whole-number field.
create function symphony._check_id(kind text, field text, v jsonb) returns void
language plpgsql immutable set search_path = '' as $$
begin
  if v is null or jsonb_typeof(v) <> 'number' or (v #>> '{}') !~ '^[1-9][0-9]{0,18}$' then
    perform symphony._fail(kind, format('"%s"', field), 'must be a positive whole number');
  end if;
end $$;

create function symphony.validate_campaign_process_payload(p jsonb) returns void
language plpgsql immutable set search_path = '' as $$
declare
  f text;
begin
  select key into f from jsonb_object_keys(p) as key where key <> 'campaign_id' limit 1;
  if f is not null then
    perform symphony._fail('campaign.process', format('"%s"', f), 'is not a field of campaign.process (fields: campaign_id)');
  end if;
  perform symphony._check_id('campaign.process', 'campaign_id', p -> 'campaign_id');
end $$;

create function symphony.validate_drip_step_payload(p jsonb) returns void
language plpgsql immutable set search_path = '' as $$
declare
  f text;
begin
  select key into f from jsonb_object_keys(p) as key where key <> all (array['enrollment_id', 'step']) limit 1;
  if f is not null then
    perform symphony._fail('drip.step', format('"%s"', f), 'is not a field of drip.step (fields: enrollment_id, step)');
  end if;
  perform symphony._check_id('drip.step', 'enrollment_id', p -> 'enrollment_id');
  if jsonb_typeof(p -> 'step') is distinct from 'number' or (p ->> 'step') !~ '^[0-9]{1,9}$' then
    perform symphony._fail('drip.step', '"step"', 'must be a whole number (a step position)');
  end if;
end $$;

insert into symphony.kinds (kind, queue, max_attempts, validator, description) values
  ('campaign.process', 'campaign', 10, 'symphony.validate_campaign_process_payload',
   'Fan one bounded batch of a campaign out into email.send messages, then chain the next batch: campaign_id.'),
  ('drip.step', 'drip', 10, 'symphony.validate_drip_step_payload',
   'Send one due step of a drip enrollment as sms.send and schedule the next: enrollment_id, step.');

-- ---------------------------------------------------------------------------
-- Templates: {{name}} variables. The sidecar renders them (HTML-escaped in html,
-- as-is in text and SMS bodies, line breaks folded in subjects, percent-encoded
-- in unsubscribe URLs); here a template's syntax and variables are checked.
-- ---------------------------------------------------------------------------

-- template_variables returns the distinct variables of a template, in order of
-- first use, and raises 22023 naming field when a "{{" is not a well-formed tag.
-- The rule, shared with the sidecar: after removing every {{ name }} (name =
-- letter or _, then letters, digits, _), no "{{" may remain.
create function symphony.template_variables(field text, template text) returns text[]
language plpgsql immutable set search_path = '' as $$
declare
  rest text;
begin
  if template is null then
    return '{}';
  end if;
  rest := regexp_replace(template, '\{\{[ \t\r\n]*[A-Za-z_][A-Za-z0-9_]*[ \t\r\n]*\}\}', '', 'g');
  if strpos(rest, '{{') > 0 then
    raise exception using errcode = '22023',
      message = format('symphony: %s has a malformed template tag near %s; variables look like {{first_name}}',
                       field, quote_literal(left(substr(rest, strpos(rest, '{{')), 30)));
  end if;
  return coalesce((
    select array_agg(v order by first)
      from (select m[1] as v, min(n) as first
              from regexp_matches(template, '\{\{[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*\}\}', 'g') with ordinality as t(m, n)
             group by m[1]) s), '{}');
end $$;

-- missing_variable returns the first of vars (other than the built-ins) that data
-- does not hold as a string, number or boolean; null when every one is there.
create function symphony.missing_variable(vars text[], data jsonb, builtins text[]) returns text
language sql immutable set search_path = '' as $$
  select v from unnest(vars) with ordinality as t(v, n)
   where v <> all (builtins)
     and coalesce(jsonb_typeof(data -> v), 'null') not in ('string', 'number', 'boolean')
   order by n limit 1
$$;

create table symphony.templates (
  name       text primary key check (name ~ '^[a-z0-9][a-z0-9_.-]{0,99}$'),
  channel    text not null check (channel in ('email', 'sms')),
  subject    text,
  html       text,
  "text"     text,
  body       text,
  variables  text[] not null default '{}',
  created_at timestamptz not null default now() constraint templates_created_at_finite check (isfinite(created_at)),
  updated_at timestamptz not null default now() constraint templates_updated_at_finite check (isfinite(updated_at)),
  constraint templates_email_content check (channel <> 'email' or
    (subject is not null and coalesce(html, "text") is not null and body is null)),
  constraint templates_sms_content check (channel <> 'sms' or
    (body is not null and subject is null and html is null and "text" is null))
);
comment on table symphony.templates is
  'Reusable content with {{variables}}. A campaign or drip step that names a template copies its content when created (or when it names another): editing a template changes what is created afterwards, never what is already sending.';

create function symphony.templates_check() returns trigger
language plpgsql set search_path = '' as $$
begin
  if new.subject ~ '[\r\n]' then
    raise exception using errcode = '22023', message = format('symphony: template %s: subject must not contain line breaks', new.name);
  end if;
  new.variables := array(select distinct v from unnest(
      symphony.template_variables(format('template %s subject', new.name), new.subject)
   || symphony.template_variables(format('template %s html', new.name), new.html)
   || symphony.template_variables(format('template %s text', new.name), new."text")
   || symphony.template_variables(format('template %s body', new.name), new.body)) v order by v);
  new.updated_at := now();
  return new;
end $$;
create trigger templates_check before insert or update on symphony.templates
  for each row execute function symphony.templates_check();

-- ---------------------------------------------------------------------------
-- Campaigns: one email to each recipient, fanned out in bounded batches.
-- ---------------------------------------------------------------------------
create table symphony.campaigns (
  id                 bigint generated always as identity primary key,
  name               text not null check (length(name) between 1 and 200),
  status             text not null default 'draft'
                     check (status in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
  "from"             text not null,
  reply_to           text,
  template           text references symphony.templates (name) on update cascade,
  subject            text,
  html               text,
  "text"             text,
  unsubscribe_url    text check (unsubscribe_url ~ '^https://'),
  unsubscribe_mailto text check (unsubscribe_mailto ~ '^mailto:[^\s<>]+$'),
  variables          text[] not null default '{}',
  priority           smallint not null default -1,
  batch_size         integer not null default 500 check (batch_size between 1 and 5000),
  meta               jsonb not null default '{}' check (jsonb_typeof(meta) = 'object'),
  scheduled_at       timestamptz constraint campaigns_scheduled_at_finite check (isfinite(scheduled_at)),
  started_at         timestamptz constraint campaigns_started_at_finite check (isfinite(started_at)),
  completed_at       timestamptz constraint campaigns_completed_at_finite check (isfinite(completed_at)),
  paused_at          timestamptz constraint campaigns_paused_at_finite check (isfinite(paused_at)),
  cancelled_at       timestamptz constraint campaigns_cancelled_at_finite check (isfinite(cancelled_at)),
  cancelled_by       text,
  -- The one campaign.process message allowed to work on this campaign: a stale or
  -- duplicate message finds another id here and does nothing.
  process_message_id bigint,
  batches            integer not null default 0,
  queued             integer not null default 0,
  skipped            integer not null default 0,
  failed             integer not null default 0,
  -- Recipient ids of the last batch, for pacing: the next batch waits until at
  -- most half of this one is still unsent.
  last_batch_first   bigint,
  last_batch_last    bigint,
  created_at         timestamptz not null default now() constraint campaigns_created_at_finite check (isfinite(created_at)),
  updated_at         timestamptz not null default now() constraint campaigns_updated_at_finite check (isfinite(updated_at)),
  paused_reason      text
);
comment on table symphony.campaigns is
  'Email campaigns. Insert as draft with content (subject, html and/or text) or a template, add campaign_recipients, then symphony.start_campaign(id[, at]). status: draft → scheduled → running → completed (every recipient queued, skipped or failed); paused and cancelled by symphony.pause_campaign / cancel_campaign. Delivery per recipient: symphony.campaign_progress.';
comment on column symphony.campaigns.unsubscribe_url is
  'https URL template, e.g. https://app.example/unsubscribe?r={{recipient_id}}&t={{token}}. When set, every email carries List-Unsubscribe and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), and {{unsubscribe_url}} is available to the content.';
comment on column symphony.campaigns.priority is 'Priority of the campaign''s email.send messages; below 0 by default so transactional email goes first.';
comment on column symphony.campaigns.paused_reason is
  'Why Symphony paused the campaign by itself (its campaign.process chain ended); null when it runs or an operator paused it. Cleared whenever the campaign leaves paused (resumed, cancelled).';
create index campaigns_template_idx on symphony.campaigns (template) where template is not null;

-- Campaign pause, resume and cancel are audited in symphony.campaign_actions with
-- symphony.actor(), whoever does them (dashboard, CLI, Studio, SQL).
create table symphony.campaign_actions (
  id          bigint generated always as identity primary key,
  campaign_id bigint not null,
  action      text not null check (action in ('pause', 'resume', 'cancel')),
  actor       text not null,
  at          timestamptz not null default now() constraint campaign_actions_at_finite check (isfinite(at)),
  detail      text
);
create index campaign_actions_campaign_idx on symphony.campaign_actions (campaign_id);
comment on table symphony.campaign_actions is
  'Audit of campaign pauses, resumes and cancellations, with symphony.actor(). Kept after a campaign is deleted.';

-- SECURITY DEFINER: the audit table is not writable by the roles that act.
create function symphony.campaigns_audit() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  act text := case
    when new.status = 'paused' then 'pause'
    when new.status = 'cancelled' then 'cancel'
    when old.status = 'paused' and new.status in ('scheduled', 'running') then 'resume'
  end;
begin
  if act is not null then
    insert into symphony.campaign_actions (campaign_id, action, actor, detail)
    values (new.id, act, symphony.actor(), format('%s → %s', old.status, new.status));
  end if;
  return null;
end $$;
create trigger campaigns_audit after update of status on symphony.campaigns
  for each row when (old.status is distinct from new.status)
  execute function symphony.campaigns_audit();

create table symphony.campaign_recipients (
  id           bigint generated always as identity primary key,
  campaign_id  bigint not null references symphony.campaigns (id) on delete cascade,
  email        text not null,
  data         jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  status       text not null default 'pending'
               check (status in ('pending', 'queued', 'skipped', 'failed', 'cancelled')),
  message_id   bigint,
  error        text,
  processed_at timestamptz constraint campaign_recipients_processed_at_finite check (isfinite(processed_at)),
  created_at   timestamptz not null default now() constraint campaign_recipients_created_at_finite check (isfinite(created_at)),
  unique (campaign_id, email),
  constraint campaign_recipients_queued_has_message check ((status = 'queued') = (message_id is not null))
);
comment on table symphony.campaign_recipients is
  'A campaign''s audience: one row per address (normalized to the lower-case bare address), data holds its {{variables}}. status: pending → queued (message_id is its email.send), skipped (suppressed), failed (error says why) or cancelled.';
create index campaign_recipients_pending_idx on symphony.campaign_recipients (campaign_id, id) where status = 'pending';
create index campaign_recipients_queued_idx on symphony.campaign_recipients (campaign_id, id) where status = 'queued';

-- The variables the sidecar supplies to every campaign email itself.
create function symphony.campaign_builtins() returns text[]
language sql immutable set search_path = '' as $$
  select array['email', 'unsubscribe_url', 'campaign_id', 'recipient_id']
$$;

-- campaigns_check completes and checks a campaign before it is written: content
-- from its template, addresses, template syntax, and that content changes only
-- while nothing is being sent.
create function symphony.campaigns_check() returns trigger
language plpgsql set search_path = '' as $$
declare
  t symphony.templates;
  bad record;
begin
  if tg_op = 'INSERT' and new.status <> 'draft' then
    raise exception using errcode = '22023', column = 'status',
      message = 'symphony: a campaign starts as draft; start it with symphony.start_campaign(id)';
  end if;
  new.updated_at := now();
  if tg_op = 'UPDATE'
     and (new.subject, new.html, new."text", new."from", new.reply_to, new.unsubscribe_url, new.unsubscribe_mailto, new.template)
         is not distinct from
         (old.subject, old.html, old."text", old."from", old.reply_to, old.unsubscribe_url, old.unsubscribe_mailto, old.template) then
    return new;  -- progress and status: nothing to check
  end if;
  if tg_op = 'UPDATE' and old.status in ('running', 'completed', 'cancelled') then
    raise exception using errcode = '55000',
      message = format('symphony: campaign %s is %s; pause it before changing its content', new.id, old.status);
  end if;
  if new.template is not null and (tg_op = 'INSERT' or new.template is distinct from old.template) then
    if tg_op = 'INSERT' and coalesce(new.subject, new.html, new."text") is not null then
      raise exception using errcode = '22023', column = 'template',
        message = 'symphony: give a campaign either content (subject, html, text) or a template, not both';
    end if;
    select * into t from symphony.templates where name = new.template;
    if t.channel <> 'email' then
      raise exception using errcode = '22023', column = 'template',
        message = format('symphony: template %s is for %s, not email', t.name, t.channel);
    end if;
    new.subject := t.subject; new.html := t.html; new."text" := t."text";
  end if;
  if new.subject is null or btrim(new.subject) = '' or new.subject ~ '[\r\n]' then
    raise exception using errcode = '22023', column = 'subject',
      message = 'symphony: campaign subject is required and must be one line';
  end if;
  if coalesce(new.html, '') = '' and coalesce(new."text", '') = '' then
    raise exception using errcode = '22023', column = 'html',
      message = 'symphony: campaign "html" or "text" is required: the email has no body';
  end if;
  if symphony.email_address(new."from") is null then
    raise exception using errcode = '22023', column = 'from',
      message = format('symphony: campaign "from" is not an email address: %s', left(new."from", 100));
  end if;
  if new.reply_to is not null and symphony.email_address(new.reply_to) is null then
    raise exception using errcode = '22023', column = 'reply_to',
      message = format('symphony: campaign "reply_to" is not an email address: %s', left(new.reply_to, 100));
  end if;
  if 'unsubscribe_url' = any (symphony.template_variables('unsubscribe_url', new.unsubscribe_url)
                              || symphony.template_variables('unsubscribe_mailto', new.unsubscribe_mailto)) then
    raise exception using errcode = '22023', column = 'unsubscribe_url',
      message = 'symphony: the unsubscribe URL cannot use {{unsubscribe_url}}';
  end if;
  new.variables := array(select distinct v from unnest(
      symphony.template_variables('campaign subject', new.subject)
   || symphony.template_variables('campaign html', new.html)
   || symphony.template_variables('campaign text', new."text")
   || symphony.template_variables('campaign unsubscribe_url', new.unsubscribe_url)
   || symphony.template_variables('campaign unsubscribe_mailto', new.unsubscribe_mailto)) v order by v);
  if 'unsubscribe_url' = any (new.variables) and new.unsubscribe_url is null then
    raise exception using errcode = '22023', column = 'unsubscribe_url',
      message = 'symphony: the content uses {{unsubscribe_url}} but the campaign has no unsubscribe_url';
  end if;
  -- New variables must be in every recipient already added.
  if tg_op = 'UPDATE' and new.variables is distinct from old.variables then
    select cr.email, symphony.missing_variable(new.variables, cr.data, symphony.campaign_builtins()) as v into bad
      from symphony.campaign_recipients cr
     where cr.campaign_id = new.id and cr.status = 'pending'
       and symphony.missing_variable(new.variables, cr.data, symphony.campaign_builtins()) is not null
     limit 1;
    if found then
      raise exception using errcode = '22023',
        message = format('symphony: campaign %s uses {{%s}}, which recipient %s has no value for', new.id, bad.v, bad.email);
    end if;
  end if;
  return new;
end $$;
create trigger campaigns_check before insert or update on symphony.campaigns
  for each row execute function symphony.campaigns_check();

-- Recipients are normalized and checked as they are added: an address that is not
-- one, or a variable the content uses and the data lacks, fails the INSERT.
create function symphony.campaign_recipients_check() returns trigger
language plpgsql set search_path = '' as $$
declare
  a text;
  c symphony.campaigns;
  missing text;
begin
  if tg_op = 'UPDATE' and old.status <> 'pending' and (new.email, new.data) is distinct from (old.email, old.data) then
    raise exception using errcode = '55000',
      message = format('symphony: campaign recipient %s is %s; only pending recipients can change', old.email, old.status);
  end if;
  if tg_op = 'UPDATE' and (new.email, new.data) is not distinct from (old.email, old.data) then
    return new;
  end if;
  a := symphony.normalize_address('email', new.email);
  if a is null then
    raise exception using errcode = '22023', column = 'email',
      message = format('symphony: campaign recipient "email" is not an email address: %s', coalesce(left(new.email, 100), 'null'));
  end if;
  new.email := a;
  select * into c from symphony.campaigns where id = new.campaign_id;
  if tg_op = 'INSERT' and c.status in ('completed', 'cancelled') then
    raise exception using errcode = '55000',
      message = format('symphony: campaign %s is %s; it takes no more recipients', c.id, c.status);
  end if;
  missing := symphony.missing_variable(c.variables, new.data, symphony.campaign_builtins());
  if missing is not null then
    raise exception using errcode = '22023', column = 'data',
      message = format('symphony: campaign %s uses {{%s}}, which recipient %s has no value for (a string or number in data)', c.id, missing, a);
  end if;
  return new;
end $$;
create trigger campaign_recipients_check before insert or update on symphony.campaign_recipients
  for each row execute function symphony.campaign_recipients_check();

-- Only a pending recipient can be removed; the rest are history. (Deleting the
-- whole campaign cascades past this.)
create function symphony.campaign_recipients_delete() returns trigger
language plpgsql set search_path = '' as $$
begin
  if old.status <> 'pending' and pg_trigger_depth() = 1 then
    raise exception using errcode = '55000',
      message = format('symphony: campaign recipient %s is %s; only pending recipients can be removed', old.email, old.status);
  end if;
  return old;
end $$;
create trigger campaign_recipients_delete before delete on symphony.campaign_recipients
  for each row execute function symphony.campaign_recipients_delete();

-- _campaign_chain dispatches the next campaign.process message and makes it the
-- only one that may work on the campaign.
create function symphony._campaign_chain(c symphony.campaigns, run_at timestamptz) returns bigint
language plpgsql set search_path = '' as $$
declare
  mid bigint;
begin
  insert into symphony.messages (kind, payload, available_at, subject, meta)
  values ('campaign.process', jsonb_build_object('campaign_id', c.id), run_at, c.id::text,
          jsonb_build_object('campaign_id', c.id))
  returning id into mid;
  update symphony.campaigns set process_message_id = mid where id = c.id;
  return mid;
end $$;

-- start_campaign schedules a draft (or rescheduled) campaign to begin at "at".
-- SECURITY DEFINER: it dispatches and sets status, which the caller may not write.
create function symphony.start_campaign(campaign_id bigint, "at" timestamptz default now()) returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  c symphony.campaigns;
begin
  select * into c from symphony.campaigns where id = campaign_id for update;
  if not found then
    raise exception using errcode = '22023', message = format('symphony: no campaign %s', campaign_id);
  end if;
  if c.status not in ('draft', 'scheduled') then
    raise exception using errcode = '55000',
      message = format('symphony: campaign %s is %s; only a draft or scheduled campaign can be started', c.id, c.status);
  end if;
  update symphony.campaigns set status = 'scheduled', scheduled_at = coalesce("at", now()) where id = c.id
  returning * into c;
  return symphony._campaign_chain(c, c.scheduled_at);
end $$;
comment on function symphony.start_campaign(bigint, timestamptz) is
  'Start a draft campaign now or at a time (again on a scheduled one: reschedule). Returns the campaign.process message id.';

-- pause_campaign stops the fan-out and holds the campaign's emails that are queued
-- but not yet claimed, so a pause takes effect at once: they stay pending, due at
-- 9999-12-31 (a finite date, not 'infinity', which clients such as pgx cannot
-- read into a time). Pacing keeps that to about one and a half batches.
-- SECURITY DEFINER: it changes messages, which callers may not update.
create function symphony.pause_campaign(campaign_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update symphony.campaigns set status = 'paused', paused_at = now()
   where id = campaign_id and status in ('scheduled', 'running');
  if not found then
    return false;
  end if;
  update symphony.messages m set available_at = timestamptz '9999-12-31 00:00:00+00'
    from symphony.campaign_recipients r
   where r.campaign_id = pause_campaign.campaign_id and r.status = 'queued'
     and m.id = r.message_id and m.state = 'pending';
  return true;
end $$;
comment on function symphony.pause_campaign(bigint) is
  'Pause a scheduled or running campaign: no more batches, and its queued emails not yet being sent wait. Returns whether it was paused.';

create function symphony.resume_campaign(campaign_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  c symphony.campaigns;
  n integer;
begin
  update symphony.campaigns
     set status = case when started_at is null then 'scheduled' else 'running' end, paused_at = null
   where id = campaign_id and status = 'paused'
  returning * into c;
  if not found then
    return false;
  end if;
  update symphony.messages m set available_at = now()
    from symphony.campaign_recipients r
   where r.campaign_id = c.id and r.status = 'queued'
     and m.id = r.message_id and m.state = 'pending' and m.available_at = timestamptz '9999-12-31 00:00:00+00';
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('symphony', 'email');
  end if;
  perform symphony._campaign_chain(c, greatest(now(), coalesce(c.scheduled_at, now())));
  return true;
end $$;
comment on function symphony.resume_campaign(bigint) is 'Resume a paused campaign where it stopped. Returns whether it was resumed.';

create function symphony.cancel_campaign(campaign_id bigint, reason text default null) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  actor text := symphony.actor();
  chain bigint;
begin
  select process_message_id into chain from symphony.campaigns where id = campaign_id for update;
  update symphony.campaigns
     set status = 'cancelled', cancelled_at = now(), cancelled_by = actor, process_message_id = null
   where id = campaign_id and status in ('draft', 'scheduled', 'running', 'paused');
  if not found then
    return false;
  end if;
  update symphony.messages m
     set state = 'cancelled', cancelled_by = actor, finished_at = now(),
         last_error = coalesce(reason, 'campaign cancelled')
    from symphony.campaign_recipients r
   where r.campaign_id = cancel_campaign.campaign_id and r.status = 'queued'
     and m.id = r.message_id and m.state = 'pending';
  update symphony.messages
     set state = 'cancelled', cancelled_by = actor, finished_at = now(), last_error = 'campaign cancelled'
   where id = chain and state = 'pending';
  update symphony.campaign_recipients
     set status = 'cancelled', error = coalesce(reason, 'campaign cancelled'), processed_at = now()
   where campaign_recipients.campaign_id = cancel_campaign.campaign_id and status = 'pending';
  return true;
end $$;
comment on function symphony.cancel_campaign(bigint, text) is
  'Cancel a campaign: recipients not yet sent to are cancelled, and so are its emails still waiting in the queue. Returns whether it was cancelled.';

-- campaign_batch is the first half of one campaign.process attempt: it locks the
-- campaign (so batches of one campaign never overlap), decides whether to work,
-- skips suppressed addresses, and returns the campaign's content and its next
-- pending recipients for the sidecar to render. The sidecar then calls
-- campaign_enqueue in the same transaction. "now" is a parameter so tests can
-- drive the clock.
--
-- Returns {"action": "send", "campaign": {...}, "recipients": [{id, email, data}]},
-- {"action": "wait", "until": t, "reason": …} or {"action": "stop", "reason": …}.
create function symphony.campaign_batch(campaign_id bigint, message_id bigint, now timestamptz default now())
returns jsonb language plpgsql set search_path = '' as $$
declare
  c symphony.campaigns;
  unsent integer;
  n integer;
begin
  select * into c from symphony.campaigns where id = campaign_id for update;
  if not found then
    return jsonb_build_object('action', 'stop', 'reason', format('campaign %s does not exist', campaign_id));
  end if;
  if c.status not in ('scheduled', 'running') then
    return jsonb_build_object('action', 'stop', 'reason', format('campaign %s is %s', c.id, c.status));
  end if;
  if c.process_message_id is distinct from message_id then
    return jsonb_build_object('action', 'stop',
      'reason', format('superseded: message %s works on campaign %s', c.process_message_id, c.id));
  end if;
  if c.scheduled_at > now then
    return jsonb_build_object('action', 'wait', 'until', c.scheduled_at, 'reason', 'scheduled later');
  end if;
  -- Pacing: at most about one and a half batches wait in the email queue, so a
  -- pause holds little and other email is not buried under a whole campaign.
  if c.last_batch_first is not null then
    select count(*) into unsent
      from symphony.campaign_recipients r join symphony.messages m on m.id = r.message_id
     where r.campaign_id = c.id and r.status = 'queued'
       and r.id between c.last_batch_first and c.last_batch_last
       and m.state in ('pending', 'processing');
    if unsent > c.batch_size / 2 then
      return jsonb_build_object('action', 'wait', 'until', now + interval '250 milliseconds',
        'reason', format('%s emails of the last batch are still unsent', unsent));
    end if;
  end if;
  if c.status = 'scheduled' then
    update symphony.campaigns set status = 'running', started_at = now where id = c.id;
  end if;
  with b as (
    select r.id, r.email from symphony.campaign_recipients r
     where r.campaign_id = c.id and r.status = 'pending'
     order by r.id limit c.batch_size
  )
  update symphony.campaign_recipients r
     set status = 'skipped', error = 'suppressed: ' || s.reason, processed_at = now
    from b join symphony.suppressions s on s.channel = 'email' and s.address = b.email
   where r.id = b.id;
  get diagnostics n = row_count;
  if n > 0 then
    update symphony.campaigns set skipped = skipped + n where id = c.id;
  end if;
  return jsonb_build_object(
    'action', 'send',
    'campaign', jsonb_build_object('id', c.id, 'from', c."from", 'reply_to', c.reply_to, 'subject', c.subject,
                                   'html', c.html, 'text', c."text", 'unsubscribe_url', c.unsubscribe_url,
                                   'unsubscribe_mailto', c.unsubscribe_mailto),
    'recipients', coalesce((
      select jsonb_agg(jsonb_build_object('id', r.id, 'email', r.email, 'data', r.data) order by r.id)
        from (select r.id, r.email, r.data from symphony.campaign_recipients r
               where r.campaign_id = c.id and r.status = 'pending'
               order by r.id limit c.batch_size
               for update) r), '[]'));
end $$;

-- campaign_enqueue is the second half: it dispatches the rendered emails
-- (payloads[i] for recipient ids[i]; errors[i] instead when rendering failed),
-- marks each recipient, records progress, and chains the next batch or completes
-- the campaign. Exactly once per recipient: only pending recipients are queued,
-- under the campaign's lock, and each email's dedupe_key is
-- campaign:<campaign id>:<recipient id>.
--
-- Every statement reaches recipients through (campaign_id, id = any(...)) on the
-- pending index, never by joining the id list: right after a bulk insert of
-- recipients the statistics say the campaign has none, and a join planned on
-- that scanned every recipient once per id (1 s a batch of 500; now ~30 ms).
create function symphony.campaign_enqueue(campaign_id bigint, message_id bigint, ids bigint[], payloads jsonb[],
  errors text[], now timestamptz default now())
returns jsonb language plpgsql set search_path = '' as $$
declare
  c symphony.campaigns;
  ok bigint[];
  n_queued integer;
  n_failed integer;
  more boolean;
  next_id bigint;
  i integer;
begin
  select * into c from symphony.campaigns where id = campaign_id for update;
  if not found or c.process_message_id is distinct from message_id or c.status <> 'running' then
    raise exception using errcode = '55000',
      message = format('symphony: campaign %s is no longer this message''s to process', campaign_id);
  end if;
  if coalesce(array_length(ids, 1), 0) <> coalesce(array_length(payloads, 1), 0)
     or coalesce(array_length(ids, 1), 0) <> coalesce(array_length(errors, 1), 0) then
    raise exception using errcode = '22023', message = 'symphony: campaign_enqueue needs as many payloads and errors as ids';
  end if;
  -- The rendered recipients that are still pending.
  ok := array(select r.id from symphony.campaign_recipients r
               where r.campaign_id = c.id and r.status = 'pending'
                 and r.id = any (array(select u.id from unnest(ids, errors) as u(id, err) where u.err is null)));
  begin
    insert into symphony.messages (kind, payload, priority, dedupe_key, subject, meta)
    select 'email.send', u.p, c.priority, format('campaign:%s:%s', c.id, u.id), u.p ->> 'to',
           jsonb_build_object('campaign_id', c.id, 'recipient_id', u.id)
      from unnest(ids, payloads) as u(id, p)
     where u.id = any (ok)
    on conflict (dedupe_key) where dedupe_key is not null do nothing;
  exception when sqlstate '22023' or sqlstate '54000' then
    -- A payload the schema refuses fails its recipient, not the batch: insert
    -- one by one (only on this rare path, to keep subtransactions out of the
    -- common one).
    for i in 1 .. coalesce(array_length(ids, 1), 0) loop
      continue when not ids[i] = any (ok);
      begin
        insert into symphony.messages (kind, payload, priority, dedupe_key, subject, meta)
        values ('email.send', payloads[i], c.priority, format('campaign:%s:%s', c.id, ids[i]), payloads[i] ->> 'to',
                jsonb_build_object('campaign_id', c.id, 'recipient_id', ids[i]))
        on conflict (dedupe_key) where dedupe_key is not null do nothing;
      exception when sqlstate '22023' or sqlstate '54000' then
        errors[i] := sqlerrm;
        ok := array_remove(ok, ids[i]);
      end;
    end loop;
  end;
  update symphony.campaign_recipients r
     set status = 'queued', processed_at = now, error = null,
         message_id = (select m.id from symphony.messages m where m.dedupe_key = format('campaign:%s:%s', c.id, r.id))
   where r.campaign_id = c.id and r.status = 'pending' and r.id = any (ok);
  get diagnostics n_queued = row_count;
  update symphony.campaign_recipients r
     set status = 'failed', error = errors[array_position(ids, r.id)], processed_at = now
   where r.campaign_id = c.id and r.status = 'pending'
     and r.id = any (array(select u.id from unnest(ids, errors) as u(id, err) where u.err is not null));
  get diagnostics n_failed = row_count;
  more := exists (select 1 from symphony.campaign_recipients r where r.campaign_id = c.id and r.status = 'pending');
  update symphony.campaigns
     set batches = batches + (coalesce(array_length(ids, 1), 0) > 0)::int,
         queued = queued + n_queued,
         failed = failed + n_failed,
         last_batch_first = coalesce((select min(x) from unnest(ids) x), last_batch_first),
         last_batch_last = coalesce((select max(x) from unnest(ids) x), last_batch_last),
         status = case when more then status else 'completed' end,
         completed_at = case when more then null else now end,
         process_message_id = case when more then process_message_id end
   where id = c.id
  returning * into c;
  if more then
    next_id := symphony._campaign_chain(c, now());
  end if;
  return jsonb_build_object('queued', n_queued, 'failed', n_failed, 'more', more, 'next_message_id', next_id);
end $$;

-- Per campaign: recipients by status, and what happened to the queued emails.
create view symphony.campaign_progress with (security_invoker = true) as
select c.id, c.name, c.status, c.scheduled_at, c.started_at, c.completed_at, c.batches,
       count(r.id) as recipients,
       count(r.id) filter (where r.status = 'pending') as pending,
       count(r.id) filter (where r.status = 'queued') as queued,
       count(r.id) filter (where r.status = 'skipped') as skipped,
       count(r.id) filter (where r.status = 'failed') as failed,
       count(r.id) filter (where r.status = 'cancelled') as cancelled,
       count(m.id) filter (where m.state = 'succeeded') as sent,
       count(m.id) filter (where m.state in ('pending', 'processing')) as sending,
       count(m.id) filter (where m.state = 'dead') as dead,
       count(m.id) filter (where m.state = 'cancelled') as not_sent
  from symphony.campaigns c
  left join symphony.campaign_recipients r on r.campaign_id = c.id
  left join symphony.messages m on m.id = r.message_id
 group by c.id;
comment on view symphony.campaign_progress is
  'Campaign progress: recipients pending/queued/skipped (suppressed)/failed/cancelled, and of the queued emails how many were sent, are sending, are dead, or were not sent (cancelled: suppressed at send time or the campaign was cancelled).';

-- A campaign advances only through its chain: the one campaign.process message named in
-- process_message_id queues a batch and dispatches the next. When that message ends
-- without a successor (dead after its last attempt, say a template that no longer
-- renders; cancelled by hand with symphony.cancel; or purged), nothing would ever process
-- the campaign again. pause_stalled_campaigns finds such campaigns and pauses them (as
-- symphony.pause_campaign does: their emails not yet claimed wait), recording why in
-- paused_reason, instead of leaving them "running" forever. Once the cause is fixed,
-- symphony.resume_campaign() starts a new chain where the campaign stopped. Every
-- sidecar's rescue round (sql/rescue.sql) runs it: a campaign is only ever processed by
-- a sidecar, so with none running there is nothing to pause.
-- SECURITY DEFINER: it pauses campaigns, which the caller may not update.
create function symphony.pause_stalled_campaigns() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s record;
  n integer := 0;
begin
  for s in
    select c.id, c.process_message_id as chain, m.state, m.last_error
      from symphony.campaigns c
      left join symphony.messages m on m.id = c.process_message_id
     where c.status in ('scheduled', 'running')
       and c.process_message_id is not null
       and (m.id is null or m.state in ('dead', 'cancelled'))
       for update of c skip locked
  loop
    if symphony.pause_campaign(s.id) then
      update symphony.campaigns
         set paused_reason = case
               when s.state is null then format('its campaign.process message %s is gone', s.chain)
               else format('its campaign.process message %s is %s: %s', s.chain, s.state,
                           coalesce(s.last_error, 'no error recorded'))
             end
       where id = s.id;
      n := n + 1;
    end if;
  end loop;
  return n;
end $$;
comment on function symphony.pause_stalled_campaigns() is
  'Pause every scheduled or running campaign whose campaign.process chain ended (its message dead, cancelled or gone), recording why in paused_reason; returns how many. Run by every sidecar''s rescue round.';

-- paused_reason holds only while the campaign is paused: whatever moves it on
-- (resume_campaign, cancel_campaign, an operator) drops the reason with it.
create function symphony.campaigns_clear_paused_reason() returns trigger
language plpgsql set search_path = '' as $$
begin
  new.paused_reason := null;
  return new;
end $$;
create trigger campaigns_clear_paused_reason before update of status on symphony.campaigns
  for each row when (new.status <> 'paused' and new.paused_reason is not null)
  execute function symphony.campaigns_clear_paused_reason();

-- ---------------------------------------------------------------------------
-- SMS drips: a sequence of steps, each sent a delay after the one before.
-- ---------------------------------------------------------------------------
create table symphony.drips (
  id          bigint generated always as identity primary key,
  name        text not null unique check (length(name) between 1 and 200),
  "from"      text check ("from" ~ '^(\+[1-9][0-9]{6,14}|MG[0-9a-f]{32}|[A-Za-z0-9 ]{1,11})$'),
  time_zone   text not null default 'UTC',
  quiet_hours boolean not null default true,
  send_from   time not null default '08:00',
  send_until  time not null default '21:00',
  created_at  timestamptz not null default now() constraint drips_created_at_finite check (isfinite(created_at)),
  constraint drips_time_zone check (symphony.valid_time_zone(time_zone)),
  constraint drips_window check (send_from <> send_until)
);
comment on table symphony.drips is
  'SMS drip sequences. With quiet_hours on (the default) a step due outside send_from–send_until in the recipient''s time zone (the enrollment''s, else time_zone) waits for the window instead of being dropped.';

create table symphony.drip_steps (
  drip_id    bigint not null references symphony.drips (id) on delete cascade,
  position   integer not null check (position >= 0),
  delay      interval not null default '0' check (delay >= interval '0'),
  template   text references symphony.templates (name) on update cascade,
  body       text not null,
  variables  text[] not null default '{}',
  primary key (drip_id, position)
);
comment on table symphony.drip_steps is
  'The steps of a drip, run in position order. delay: after enrollment for the first step, after the previous step was sent for the others. body (or a template, whose body is copied) may use {{variables}} from the enrollment''s data and {{phone}}.';
create index drip_steps_template_idx on symphony.drip_steps (template) where template is not null;

create table symphony.drip_enrollments (
  id              bigint generated always as identity primary key,
  drip_id         bigint not null references symphony.drips (id) on delete cascade,
  phone           text not null,
  data            jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  time_zone       text check (time_zone is null or symphony.valid_time_zone(time_zone)),
  status          text not null default 'active'
                  check (status in ('active', 'completed', 'unenrolled', 'opted_out')),
  next_step       integer,
  next_at         timestamptz constraint drip_enrollments_next_at_finite check (isfinite(next_at)),
  steps_sent      integer not null default 0,
  last_message_id bigint,
  enrolled_at     timestamptz not null default now() constraint drip_enrollments_enrolled_at_finite check (isfinite(enrolled_at)),
  ended_at        timestamptz constraint drip_enrollments_ended_at_finite check (isfinite(ended_at)),
  end_reason      text,
  constraint drip_enrollments_cursor check ((status = 'active') = (next_step is not null and next_at is not null)),
  constraint drip_enrollments_ended check ((status = 'active') = (ended_at is null))
);
comment on table symphony.drip_enrollments is
  'One phone in one drip. Insert (drip_id, phone[, data, time_zone, enrolled_at]) to enroll; next_step/next_at are the cursor. Ends as completed, unenrolled (symphony.unenroll) or opted_out (an sms suppression).';
comment on column symphony.drip_enrollments.next_step is 'Position of the step to send next (the cursor); null once ended.';
create unique index drip_enrollments_active_idx on symphony.drip_enrollments (drip_id, phone) where status = 'active';
create index drip_enrollments_phone_idx on symphony.drip_enrollments (phone) where status = 'active';

create function symphony.drip_steps_check() returns trigger
language plpgsql set search_path = '' as $$
declare
  t symphony.templates;
begin
  if new.template is not null and (tg_op = 'INSERT' or new.template is distinct from old.template) then
    select * into t from symphony.templates where name = new.template;
    if t.channel <> 'sms' then
      raise exception using errcode = '22023', column = 'template',
        message = format('symphony: template %s is for %s, not sms', t.name, t.channel);
    end if;
    new.body := t.body;
  end if;
  if new.body is null or btrim(new.body) = '' then
    raise exception using errcode = '22023', column = 'body',
      message = format('symphony: drip step %s needs a body or a template', new.position);
  end if;
  new.variables := symphony.template_variables(format('drip step %s body', new.position), new.body);
  return new;
end $$;
create trigger drip_steps_check before insert or update on symphony.drip_steps
  for each row execute function symphony.drip_steps_check();

-- Enrollment: the phone is normalized, the data must hold every variable the
-- drip's steps use, and the cursor points at the first step. A phone that is
-- already suppressed is enrolled as opted_out (a bulk enrollment does not fail
-- for it), and nothing is sent to it.
create function symphony.drip_enrollments_before_insert() returns trigger
language plpgsql set search_path = '' as $$
declare
  p text := symphony.normalize_address('sms', new.phone);
  first_step symphony.drip_steps;
  missing record;
  sup text;
begin
  if p is null then
    raise exception using errcode = '22023', column = 'phone',
      message = format('symphony: drip enrollment "phone" must be an E.164 number such as +14155550100, got %s', coalesce(left(new.phone, 40), 'null'));
  end if;
  new.phone := p;
  select * into first_step from symphony.drip_steps where drip_id = new.drip_id order by position limit 1;
  if not found then
    raise exception using errcode = '22023', column = 'drip_id',
      message = format('symphony: drip %s has no steps to enroll into', new.drip_id);
  end if;
  select s.position, symphony.missing_variable(s.variables, new.data, array['phone']) as v into missing
    from symphony.drip_steps s
   where s.drip_id = new.drip_id and symphony.missing_variable(s.variables, new.data, array['phone']) is not null
   order by s.position limit 1;
  if found then
    raise exception using errcode = '22023', column = 'data',
      message = format('symphony: drip %s step %s uses {{%s}}, which enrollment %s has no value for (a string or number in data)',
                       new.drip_id, missing.position, missing.v, p);
  end if;
  select reason into sup from symphony.suppressions where channel = 'sms' and address = p;
  if sup is not null then
    new.status := 'opted_out'; new.ended_at := now(); new.end_reason := 'suppressed: ' || sup;
    new.next_step := null; new.next_at := null;
    return new;
  end if;
  new.status := 'active'; new.ended_at := null; new.end_reason := null; new.steps_sent := 0;
  new.next_step := first_step.position;
  new.next_at := new.enrolled_at + first_step.delay;
  return new;
end $$;
create trigger drip_enrollments_before_insert before insert on symphony.drip_enrollments
  for each row execute function symphony.drip_enrollments_before_insert();

-- One statement dispatches the first step of every enrollment it inserted.
create function symphony.drip_enrollments_after_insert() returns trigger
language plpgsql set search_path = '' as $$
begin
  insert into symphony.messages (kind, payload, available_at, dedupe_key, subject, meta)
  select 'drip.step', jsonb_build_object('enrollment_id', e.id, 'step', e.next_step), e.next_at,
         format('drip:%s:%s', e.id, e.next_step), e.phone,
         jsonb_build_object('drip_id', e.drip_id, 'enrollment_id', e.id)
    from inserted e
   where e.status = 'active'
  on conflict (dedupe_key) where dedupe_key is not null do nothing;
  return null;
end $$;
create trigger drip_enrollments_after_insert after insert on symphony.drip_enrollments
  referencing new table as inserted
  for each statement execute function symphony.drip_enrollments_after_insert();

-- _drip_end ends an active enrollment and cancels what it still has waiting in
-- the queue: its next drip.step and its last SMS if not yet sent.
create function symphony._drip_end(enrollment_id bigint, new_status text, reason text, actor text) returns boolean
language plpgsql set search_path = '' as $$
declare
  e symphony.drip_enrollments;
begin
  select * into e from symphony.drip_enrollments where id = enrollment_id and status = 'active' for update;
  if not found then
    return false;
  end if;
  update symphony.drip_enrollments
     set status = new_status, ended_at = now(), end_reason = reason, next_step = null, next_at = null
   where id = e.id;
  update symphony.messages
     set state = 'cancelled', cancelled_by = actor, finished_at = now(), last_error = reason
   where state = 'pending'
     and (dedupe_key = format('drip:%s:%s', e.id, e.next_step) or id = e.last_message_id);
  return true;
end $$;

-- unenroll ends an enrollment. SECURITY DEFINER: it cancels queued messages.
create function symphony.unenroll(enrollment_id bigint, reason text default 'unenrolled') returns boolean
language sql security definer set search_path = '' as $$
  select symphony._drip_end(enrollment_id, 'unenrolled', coalesce(reason, 'unenrolled'), symphony.actor())
$$;
comment on function symphony.unenroll(bigint, text) is
  'End an active drip enrollment: no further steps, and its queued messages not yet sent are cancelled. Returns whether it was active.';

create function symphony.unenroll(drip text, phone text, reason text default 'unenrolled') returns boolean
language sql security definer set search_path = '' as $$
  select coalesce(bool_or(symphony._drip_end(e.id, 'unenrolled', coalesce(reason, 'unenrolled'), symphony.actor())), false)
    from symphony.drip_enrollments e join symphony.drips d on d.id = e.drip_id
   where d.name = unenroll.drip and e.phone = symphony.normalize_address('sms', unenroll.phone) and e.status = 'active'
$$;
comment on function symphony.unenroll(text, text, text) is 'End the active enrollment of phone in the drip named drip.';

-- An SMS suppression (STOP) ends every active enrollment of that phone at once.
-- SECURITY DEFINER: whoever may record a suppression may have its effect.
create function symphony.suppressions_opt_out() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform symphony._drip_end(e.id, 'opted_out', 'suppressed: ' || new.reason, 'suppression')
     from symphony.drip_enrollments e
    where new.channel = 'sms' and e.phone = new.address and e.status = 'active';
  return null;
end $$;
create trigger suppressions_opt_out after insert or update on symphony.suppressions
  for each row execute function symphony.suppressions_opt_out();

-- drip_step_begin is the first half of one drip.step attempt: it locks the
-- enrollment and says what to do with step "step" at time "now" (a parameter so
-- tests drive the clock):
--   {"action": "send", phone, from, body, data, position, time_zone, quiet_hours, send_from, send_until}
--   {"action": "wait", "until": next_at}     the step is not due yet
--   {"action": "stop", "reason": …}          ended, already sent, or opted out
-- The sidecar then renders the body, applies quiet hours, and calls drip_step_sent
-- in the same transaction.
create function symphony.drip_step_begin(enrollment_id bigint, step integer, now timestamptz default now())
returns jsonb language plpgsql set search_path = '' as $$
declare
  e symphony.drip_enrollments;
  d symphony.drips;
  s symphony.drip_steps;
  sup text;
begin
  select * into e from symphony.drip_enrollments where id = enrollment_id for update;
  if not found then
    return jsonb_build_object('action', 'stop', 'reason', format('enrollment %s does not exist', enrollment_id));
  end if;
  if e.status <> 'active' then
    return jsonb_build_object('action', 'stop', 'reason', format('enrollment %s is %s', e.id, e.status));
  end if;
  if e.next_step <> step then
    return jsonb_build_object('action', 'stop', 'reason', format('enrollment %s is at step %s, not %s', e.id, e.next_step, step));
  end if;
  if now < e.next_at then
    return jsonb_build_object('action', 'wait', 'until', e.next_at, 'reason', 'step not due yet');
  end if;
  select reason into sup from symphony.suppressions where channel = 'sms' and address = e.phone;
  if sup is not null then
    perform symphony._drip_end(e.id, 'opted_out', 'suppressed: ' || sup, 'suppression');
    return jsonb_build_object('action', 'stop', 'reason', 'suppressed: ' || sup);
  end if;
  -- The step at the cursor, or the next one if it was deleted meanwhile.
  select * into s from symphony.drip_steps where drip_id = e.drip_id and position >= step order by position limit 1;
  if not found then
    update symphony.drip_enrollments
       set status = 'completed', ended_at = now, end_reason = 'completed', next_step = null, next_at = null
     where id = e.id;
    return jsonb_build_object('action', 'stop', 'reason', 'no steps left: completed');
  end if;
  select * into d from symphony.drips where id = e.drip_id;
  return jsonb_build_object('action', 'send', 'enrollment_id', e.id, 'drip_id', d.id, 'position', s.position,
    'phone', e.phone, 'from', d."from", 'body', s.body, 'data', e.data,
    'time_zone', coalesce(e.time_zone, d.time_zone), 'quiet_hours', d.quiet_hours,
    'send_from', to_char(d.send_from, 'HH24:MI'), 'send_until', to_char(d.send_until, 'HH24:MI'));
end $$;

-- drip_step_sent is the second half: it dispatches the step's SMS (dedupe_key
-- drip:<enrollment>:<position>:sms), moves the cursor to the next step, due its
-- delay after now, and dispatches that step's drip.step (dedupe_key
-- drip:<enrollment>:<position>); or completes the enrollment after the last step.
-- The cursor check under the row lock makes a step run at most once.
create function symphony.drip_step_sent(enrollment_id bigint, step integer, sms jsonb, meta jsonb default '{}',
  now timestamptz default now())
returns jsonb language plpgsql set search_path = '' as $$
declare
  e symphony.drip_enrollments;
  nxt symphony.drip_steps;
  sms_id bigint;
begin
  select * into e from symphony.drip_enrollments where id = enrollment_id for update;
  if not found or e.status <> 'active' or e.next_step > step then
    raise exception using errcode = '55000',
      message = format('symphony: drip enrollment %s is no longer at step %s', enrollment_id, step);
  end if;
  insert into symphony.messages (kind, payload, dedupe_key, subject, meta)
  values ('sms.send', sms, format('drip:%s:%s:sms', e.id, step), e.phone,
          coalesce(meta, '{}') || jsonb_build_object('drip_id', e.drip_id, 'enrollment_id', e.id, 'step', step))
  on conflict (dedupe_key) where dedupe_key is not null do nothing
  returning id into sms_id;
  if sms_id is null then
    select id into sms_id from symphony.messages where dedupe_key = format('drip:%s:%s:sms', e.id, step);
  end if;
  select * into nxt from symphony.drip_steps where drip_id = e.drip_id and position > step order by position limit 1;
  if not found then
    update symphony.drip_enrollments
       set status = 'completed', ended_at = now, end_reason = 'completed', next_step = null, next_at = null,
           steps_sent = steps_sent + 1, last_message_id = sms_id
     where id = e.id;
    return jsonb_build_object('sms_message_id', sms_id, 'completed', true);
  end if;
  update symphony.drip_enrollments
     set next_step = nxt.position, next_at = now + nxt.delay, steps_sent = steps_sent + 1, last_message_id = sms_id
   where id = e.id;
  insert into symphony.messages (kind, payload, available_at, dedupe_key, subject, meta)
  values ('drip.step', jsonb_build_object('enrollment_id', e.id, 'step', nxt.position), now + nxt.delay,
          format('drip:%s:%s', e.id, nxt.position), e.phone,
          jsonb_build_object('drip_id', e.drip_id, 'enrollment_id', e.id))
  on conflict (dedupe_key) where dedupe_key is not null do nothing;
  return jsonb_build_object('sms_message_id', sms_id, 'completed', false, 'next_step', nxt.position, 'next_at', now + nxt.delay);
end $$;

-- ---------------------------------------------------------------------------
-- Schedules: recurring dispatches, defined as rows. symphony.run_schedules() fires
-- what is due; pg_cron's symphony-scheduler job and every sidecar call it, and a
-- due time fires once however many of them do.
-- ---------------------------------------------------------------------------

-- _cron_field expands one field of a cron expression ("*", "5", "1-5", "*/15",
-- "0-30/10", "1,15,30") into its sorted values, naming the field when it is bad.
create function symphony._cron_field(expr text, field text, lo integer, hi integer) returns integer[]
language plpgsql immutable set search_path = '' as $$
declare
  part text;
  m text[];
  a integer;
  b integer;
  step integer;
  vals integer[] := '{}';
begin
  foreach part in array string_to_array(expr, ',') loop
    m := regexp_match(part, '^(\*|([0-9]{1,2})(?:-([0-9]{1,2}))?)(?:/([0-9]{1,2}))?$');
    if m is null then
      raise exception using errcode = '22023',
        message = format('symphony: cron %s field %s is not *, a number, a range a-b or a step */n', field, quote_literal(part));
    end if;
    if m[1] = '*' then
      a := lo; b := hi;
    else
      a := m[2]::integer;
      b := coalesce(m[3]::integer, case when m[4] is not null then hi else a end);
    end if;
    step := coalesce(m[4]::integer, 1);
    if a < lo or b > hi or a > b or step < 1 then
      raise exception using errcode = '22023',
        message = format('symphony: cron %s field %s is outside %s-%s', field, quote_literal(part), lo, hi);
    end if;
    vals := vals || array(select generate_series(a, b, step));
  end loop;
  return array(select distinct v from unnest(vals) v order by v);
end $$;

-- cron_next returns the first time strictly after "after" that matches a
-- five-field cron expression (minute hour day-of-month month day-of-week, as in
-- crontab; day-of-week 0 or 7 is Sunday) read in time zone tz. As in cron, when
-- both day fields are restricted a day matching either one matches.
create function symphony.cron_next(expr text, tz text, "after" timestamptz) returns timestamptz
language plpgsql stable set search_path = '' as $$
declare
  f text[] := regexp_split_to_array(btrim(expr), '\s+');
  mins integer[];
  hours integer[];
  doms integer[];
  months integer[];
  dows integer[];
  either boolean;
  start timestamp;
  d date;
  h integer;
  mi integer;
  cand timestamptz;
begin
  if expr is null or array_length(f, 1) <> 5 then
    raise exception using errcode = '22023',
      message = format('symphony: cron %s must have 5 fields: minute hour day-of-month month day-of-week', coalesce(quote_literal(expr), 'null'));
  end if;
  mins := symphony._cron_field(f[1], 'minute', 0, 59);
  hours := symphony._cron_field(f[2], 'hour', 0, 23);
  doms := symphony._cron_field(f[3], 'day-of-month', 1, 31);
  months := symphony._cron_field(f[4], 'month', 1, 12);
  dows := array(select distinct v % 7 from unnest(symphony._cron_field(f[5], 'day-of-week', 0, 7)) v);
  either := f[3] !~ '^\*' and f[5] !~ '^\*';
  start := date_trunc('minute', "after" at time zone tz) + interval '1 minute';
  -- Five years and a day covers every combination that can match at all (29 February).
  for i in 0 .. 1831 loop
    d := start::date + i;
    continue when extract(month from d)::integer <> all (months);
    if either then
      continue when extract(day from d)::integer <> all (doms) and extract(dow from d)::integer <> all (dows);
    else
      continue when extract(day from d)::integer <> all (doms) or extract(dow from d)::integer <> all (dows);
    end if;
    foreach h in array hours loop
      foreach mi in array mins loop
        continue when d + make_interval(hours => h, mins => mi) < start;
        cand := (d + make_interval(hours => h, mins => mi)) at time zone tz;
        -- A wall-clock time repeated when clocks go back must not fire twice.
        continue when cand <= "after";
        return cand;
      end loop;
    end loop;
  end loop;
  raise exception using errcode = '22023', message = format('symphony: cron %s never matches a date', quote_literal(expr));
end $$;

create table symphony.schedules (
  name            text primary key check (name ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'),
  kind            text not null references symphony.kinds (kind) on update cascade,
  payload         jsonb not null default '{}',
  options         jsonb not null default '{}' check (jsonb_typeof(options) = 'object'),
  every           interval check (every >= interval '1 second'),
  cron            text,
  time_zone       text not null default 'UTC' check (symphony.valid_time_zone(time_zone)),
  enabled         boolean not null default true,
  next_run_at     timestamptz not null constraint schedules_next_run_at_finite check (isfinite(next_run_at)),
  last_run_at     timestamptz constraint schedules_last_run_at_finite check (isfinite(last_run_at)),
  last_message_id bigint,
  last_error      text,
  runs            bigint not null default 0,
  description     text,
  created_at      timestamptz not null default now() constraint schedules_created_at_finite check (isfinite(created_at)),
  updated_at      timestamptz not null default now() constraint schedules_updated_at_finite check (isfinite(updated_at)),
  constraint schedules_one_rule check ((every is null) <> (cron is null))
);
comment on table symphony.schedules is
  'Recurring dispatches: every (an interval, aligned to multiples of it since 2000-01-01 UTC) or cron (five fields, in time_zone). When due, symphony.run_schedules() dispatches kind/payload with options (queue, priority, max_attempts, subject, meta) and dedupe_key schedule:<name>:<due time>. Runs missed while nothing ran are fired once, late, not once each. Set next_run_at = now() to run one at once.';
create index schedules_due_idx on symphony.schedules (next_run_at) where enabled;
create index schedules_kind_idx on symphony.schedules (kind);

-- schedule_next: the first due time of a schedule strictly after "after".
create function symphony.schedule_next(every interval, cron text, tz text, "after" timestamptz) returns timestamptz
language plpgsql stable set search_path = '' as $$
begin
  if every is not null then
    return date_bin(every, "after", timestamptz '2000-01-01 00:00:00+00') + every;
  end if;
  return symphony.cron_next(cron, tz, "after");
end $$;

create function symphony.schedules_check() returns trigger
language plpgsql set search_path = '' as $$
declare
  bad text;
begin
  if tg_op = 'UPDATE' and (new.kind, new.payload, new.options, new.every, new.cron, new.time_zone)
                          is not distinct from (old.kind, old.payload, old.options, old.every, old.cron, old.time_zone) then
    new.updated_at := now();
    return new;
  end if;
  select key into bad from jsonb_object_keys(new.options) as key
   where key <> all (array['queue', 'priority', 'max_attempts', 'subject', 'meta']) limit 1;
  if bad is not null then
    raise exception using errcode = '22023', column = 'options',
      message = format('symphony: schedule %s: option %s is not allowed (options: queue, priority, max_attempts, subject, meta)', new.name, quote_literal(bad));
  end if;
  perform symphony.validate_payload(new.kind, new.payload);
  if new.every is not null then
    begin
      perform date_bin(new.every, now(), timestamptz '2000-01-01 00:00:00+00');
    exception when others then
      raise exception using errcode = '22023', column = 'every',
        message = format('symphony: schedule %s: every %s must be a fixed length (seconds, minutes, hours, days; not months or years)', new.name, new.every);
    end;
  end if;
  if tg_op = 'INSERT' and new.next_run_at is null
     or tg_op = 'UPDATE' and new.next_run_at is not distinct from old.next_run_at then
    new.next_run_at := symphony.schedule_next(new.every, new.cron, new.time_zone, now());
  else
    perform symphony.schedule_next(new.every, new.cron, new.time_zone, now());  -- checks the cron expression
  end if;
  new.updated_at := now();
  return new;
end $$;
create trigger schedules_check before insert or update on symphony.schedules
  for each row execute function symphony.schedules_check();

-- run_schedules fires every enabled schedule due at "now" (a parameter so tests
-- drive the clock) and returns how many fired. Exactly once per due time with
-- any number of callers: a due row is locked (SKIP LOCKED: a concurrent caller
-- passes it by), its message is dispatched with dedupe_key
-- schedule:<name>:<due time>, and next_run_at moves past now, all in one
-- transaction. One schedule that cannot dispatch records last_error and moves
-- on; it never stops the others.
create function symphony.run_schedules(now timestamptz default now()) returns integer
language plpgsql set search_path = '' as $$
declare
  r symphony.schedules;
  mid bigint;
  n integer := 0;
begin
  for r in
    select * from symphony.schedules s
     where s.enabled and s.next_run_at <= now
     order by s.next_run_at
     for update skip locked
  loop
    begin
      mid := symphony.dispatch(r.kind, r.payload, r.options || jsonb_build_object(
        'dedupe_key', format('schedule:%s:%s', r.name, to_char(r.next_run_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
        'meta', coalesce(r.options -> 'meta', '{}') || jsonb_build_object('schedule', r.name, 'due_at', r.next_run_at)));
      update symphony.schedules
         set next_run_at = symphony.schedule_next(r.every, r.cron, r.time_zone, greatest(now, r.next_run_at)),
             last_run_at = r.next_run_at, last_message_id = mid, last_error = null, runs = runs + 1
       where name = r.name;
    exception when others then
      update symphony.schedules
         set next_run_at = symphony.schedule_next(r.every, r.cron, r.time_zone, greatest(now, r.next_run_at)),
             last_run_at = r.next_run_at, last_error = sqlerrm
       where name = r.name;
    end;
    n := n + 1;
  end loop;
  return n;
end $$;
comment on function symphony.run_schedules(timestamptz) is
  'Fire every due schedule once; returns how many fired. Run by pg_cron (symphony-scheduler) and by every sidecar.';

-- ===========================================================================
-- 5. Operations: the views an operator reads, and pg_cron's jobs.
-- ===========================================================================

-- ---------------------------------------------------------------------------
-- Rollups: history for the dashboard's charts, kept without touching the hot path.
-- ---------------------------------------------------------------------------
--
-- The dashboard draws throughput, failures and latency per queue, legacy and
-- Symphony side by side per bridge, and delivery rates per day. Reading those
-- from symphony.messages on every page would cost time in proportion to the
-- history (millions of finished rows). Instead symphony.roll_up() folds finished
-- work into small per-minute (and per-day) tables from a watermark: each minute
-- is read once, after it has closed, through the indexes on finished_at. There is
-- no trigger on messages and no per-message cost when sending; pg_cron's
-- symphony-rollup job runs it every minute, and each sidecar's metrics collector
-- calls it too (an advisory lock lets one caller work at a time), so the charts
-- keep up without pg_cron.
--
-- A minute is rolled up once it is a full minute old: a completion that commits
-- later than that (a transaction open for over a minute) is not counted.
--

-- Latency buckets, in milliseconds: bucket i (1-based) holds values below
-- bounds[i] and from bounds[i-1] up; the last bucket holds everything from the
-- last bound up. The dashboard reads the bounds from symphony.latency_bounds().
create function symphony.latency_bounds() returns integer[]
language sql immutable parallel safe set search_path = '' as $$
  select array[10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000, 3600000]
$$;
comment on function symphony.latency_bounds() is
  'Bounds (ms) of the latency histogram buckets in message_minutes and bridge_minutes: bucket i holds values below bound i; one more bucket holds the rest.';

-- _histogram_sql is the select-list expression that counts the column of
-- latencies d (an interval) into the buckets: one count(*) FILTER per bucket,
-- built-in aggregates only, so a roll-up of many rows stays cheap.
create function symphony._histogram_sql(d text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select 'array[' || string_agg(format('count(*) filter (where width_bucket(extract(epoch from %s) * 1000, %L::float8[]) = %s)::int',
                                       d, symphony.latency_bounds()::float8[], i - 1), ', ' order by i) || ']'
    from generate_series(1, array_length(symphony.latency_bounds(), 1) + 1) i
$$;

-- _hist_merge adds two histograms element by element.
create function symphony._hist_merge(a integer[], b integer[]) returns integer[]
language sql immutable parallel safe set search_path = '' as $$
  select array_agg(coalesce(x, 0) + coalesce(y, 0) order by i)
    from unnest(a, b) with ordinality as u(x, y, i)
$$;

create table symphony.rollup_watermarks (
  name     text primary key,
  upto     timestamptz constraint rollup_watermarks_upto_finite check (isfinite(upto)),  -- everything finished before this is rolled up
  upto_id  bigint        -- for id-ordered sources: every id up to this
);
comment on table symphony.rollup_watermarks is
  'How far symphony.roll_up() has folded each source into the dashboard''s rollup tables.';

create table symphony.message_minutes (
  minute          timestamptz not null constraint message_minutes_minute_finite check (isfinite(minute)),
  queue           text not null,
  succeeded       integer not null default 0,
  dead            integer not null default 0,
  cancelled       integer not null default 0,
  retried         integer not null default 0,  -- finished after more than one attempt
  failed_attempts integer not null default 0,  -- attempts that failed, of the messages finished here
  latency         integer[] not null,          -- succeeded messages by due-to-request time (latency_bounds)
  primary key (minute, queue)
);
comment on table symphony.message_minutes is
  'Finished messages per minute (of finished_at) and queue: succeeded, dead, cancelled, retried (needed more than one attempt), failed attempts, and a histogram of the time from due (available_at) to the provider request of the attempt that succeeded. Filled by symphony.roll_up().';

create table symphony.bridge_minutes (
  minute      timestamptz not null constraint bridge_minutes_minute_finite check (isfinite(minute)),
  bridge      text not null,
  system      text not null check (system in ('legacy', 'symphony')),
  finished    integer not null default 0,
  succeeded   integer not null default 0,
  failed      integer not null default 0,
  handed_back integer not null default 0,  -- finished by legacy after Symphony handed them back
  latency     integer[] not null,          -- insert to finish
  primary key (minute, bridge, system)
);
comment on table symphony.bridge_minutes is
  'Bridged rows finished per minute, bridge and system (who finished them): successes, failures, rows handed back by a rollback, and a histogram of insert-to-finish time. Filled by symphony.roll_up().';

create table symphony.delivery_days (
  day      date not null,
  channel  text not null check (channel in ('email', 'sms')),
  status   text not null,
  events   integer not null default 0,
  primary key (day, channel, status)
);
comment on table symphony.delivery_days is
  'Delivery events per day (UTC, of occurred_at), channel and status, from symphony.delivery_events. Filled by symphony.roll_up().';

-- roll_up reads bridge_rows by the time they finished.
create index bridge_rows_finished_idx on symphony.bridge_rows (finished_at) where finished_at is not null;

-- _latency_bucket_sql is the expression of the histogram bucket of latency d (an
-- interval; 0-based, null for null): one float8 width_bucket per row, the bounds
-- a constant. Spliced into roll_up's query, as a function with a search_path
-- would not be inlined and would cost a call per row.
create function symphony._latency_bucket_sql(d text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select format('width_bucket(extract(epoch from %s)::float8 * 1000, %L::float8[])', d, symphony.latency_bounds()::float8[])
$$;

-- _histogram_sum_sql is the select-list expression that builds the histogram
-- array from rows already grouped by bucket: sum of n where bucket = i, per bucket.
create function symphony._histogram_sum_sql(bucket text, n text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select 'array[' || string_agg(format('coalesce(sum(%s) filter (where %s = %s), 0)::int', n, bucket, i - 1), ', ' order by i) || ']'
    from generate_series(1, array_length(symphony.latency_bounds(), 1) + 1) i
$$;

-- roll_up folds what finished since the last call into the rollup tables, at
-- most max_span of history per source per call (the first call on a large
-- history catches up over several), and drops rollup rows older than keep.
-- Returns the number of rollup rows written. Concurrent calls do not wait:
-- all but one return 0 at once.
--
-- Rolling up one minute of 50,000 finished messages took 4.7 s with 10M in
-- history on a loaded machine. EXPLAIN (ANALYZE, BUFFERS) of its query over
-- 50,000 rows: the index on finished_at is used (messages_finished_idx, a
-- bitmap scan, 1,700 buffers, all hits), and of 1.15 s the scan and grouping
-- took 0.2 s; the rest was per-row work. The latency histogram was sixteen
-- count(*) FILTER clauses, each computing extract(epoch ...) (numeric) and
-- width_bucket over the bounds again, sixteen times a row; and date_trunc on a
-- timestamptz converts through the session's time zone. So each row's bucket is
-- computed once, rows are grouped by (minute, queue or bridge and system,
-- bucket) with date_bin (no time zone: minutes are whole in every zone in use),
-- and the sixteen sums run over those few groups.
create function symphony.roll_up(max_span interval default interval '1 day', keep interval default interval '35 days')
returns integer language plpgsql set search_path = '' as $$
declare
  cutoff timestamptz := date_trunc('minute', now()) - interval '1 minute';
  lo timestamptz;
  hi timestamptz;
  lo_id bigint;
  hi_id bigint;
  n integer;
  total integer := 0;
begin
  if max_span is null or max_span < interval '1 minute' then
    raise exception using errcode = '22023', message = 'symphony: roll_up needs a max_span of at least a minute';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('symphony.roll_up')) then
    return 0;
  end if;
  insert into symphony.rollup_watermarks (name) values ('messages'), ('bridge_rows'), ('delivery_events')
  on conflict (name) do nothing;

  -- Messages, by the minute they finished.
  select upto into lo from symphony.rollup_watermarks where name = 'messages';
  if lo is null then
    select date_trunc('minute', min(finished_at)) into lo from symphony.messages where finished_at is not null;
  end if;
  if lo < cutoff then
    hi := least(cutoff, lo + date_trunc('minute', max_span));
    execute format($q$
    insert into symphony.message_minutes as t (minute, queue, succeeded, dead, cancelled, retried, failed_attempts, latency)
    select b.minute, b.queue, sum(b.succeeded), sum(b.dead), sum(b.cancelled), sum(b.retried), sum(b.failed_attempts), %s
      from (select date_bin('1 minute', m.finished_at, timestamptz '2000-01-01 00:00+00') as minute, m.queue,
                   %s as bucket,
                   count(*) as n,
                   count(*) filter (where m.state = 'succeeded') as succeeded,
                   count(*) filter (where m.state = 'dead') as dead,
                   count(*) filter (where m.state = 'cancelled') as cancelled,
                   count(*) filter (where m.attempts > 1) as retried,
                   coalesce(sum(case m.state when 'succeeded' then m.attempts - 1 when 'dead' then m.attempts
                                             else greatest(m.attempts - 1, 0) end), 0) as failed_attempts
              from symphony.messages m
             where m.finished_at >= $1 and m.finished_at < $2
             group by 1, 2, 3) b
     group by 1, 2
    on conflict (minute, queue) do update
       set succeeded = t.succeeded + excluded.succeeded, dead = t.dead + excluded.dead,
           cancelled = t.cancelled + excluded.cancelled, retried = t.retried + excluded.retried,
           failed_attempts = t.failed_attempts + excluded.failed_attempts,
           latency = symphony._hist_merge(t.latency, excluded.latency)$q$,
      symphony._histogram_sum_sql('b.bucket', 'b.n'),
      symphony._latency_bucket_sql('case when m.state = ''succeeded'' then m.attempted_at - m.available_at end'))
    using lo, hi;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto = hi where name = 'messages';
  end if;

  -- Bridged rows, by the minute they finished, per system that finished them.
  select upto into lo from symphony.rollup_watermarks where name = 'bridge_rows';
  if lo is null then
    select date_trunc('minute', min(finished_at)) into lo from symphony.bridge_rows where finished_at is not null;
  end if;
  if lo < cutoff then
    hi := least(cutoff, lo + date_trunc('minute', max_span));
    execute format($q$
    insert into symphony.bridge_minutes as t (minute, bridge, system, finished, succeeded, failed, handed_back, latency)
    select b.minute, b.bridge, b.owner, sum(b.n), sum(b.succeeded), sum(b.failed), sum(b.handed_back), %s
      from (select date_bin('1 minute', r.finished_at, timestamptz '2000-01-01 00:00+00') as minute, r.bridge, r.owner,
                   %s as bucket,
                   count(*) as n,
                   count(*) filter (where r.outcome = 'succeeded') as succeeded,
                   count(*) filter (where r.outcome = 'failed') as failed,
                   count(*) filter (where r.handed_back_at is not null) as handed_back
              from symphony.bridge_rows r
             where r.finished_at >= $1 and r.finished_at < $2
             group by 1, 2, 3, 4) b
     group by 1, 2, 3
    on conflict (minute, bridge, system) do update
       set finished = t.finished + excluded.finished, succeeded = t.succeeded + excluded.succeeded,
           failed = t.failed + excluded.failed, handed_back = t.handed_back + excluded.handed_back,
           latency = symphony._hist_merge(t.latency, excluded.latency)$q$,
      symphony._histogram_sum_sql('b.bucket', 'b.n'),
      symphony._latency_bucket_sql('r.finished_at - r.created_at'))
    using lo, hi;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto = hi where name = 'bridge_rows';
  end if;

  -- Delivery events, by id, once received a full minute ago.
  select coalesce(upto_id, 0) into lo_id from symphony.rollup_watermarks where name = 'delivery_events';
  select max(id) into hi_id
    from (select id from symphony.delivery_events
           where id > lo_id and received_at < cutoff
           order by id limit 100000) e;
  if hi_id is not null then
    insert into symphony.delivery_days as t (day, channel, status, events)
    select (e.occurred_at at time zone 'UTC')::date,
           case e.provider when 'twilio' then 'sms' else 'email' end, e.status, count(*)
      from symphony.delivery_events e
     where e.id > lo_id and e.id <= hi_id and e.received_at < cutoff
     group by 1, 2, 3
    on conflict (day, channel, status) do update set events = t.events + excluded.events;
    get diagnostics n = row_count;
    total := total + n;
    update symphony.rollup_watermarks set upto_id = hi_id where name = 'delivery_events';
  end if;

  delete from symphony.message_minutes where minute < now() - keep;
  delete from symphony.bridge_minutes where minute < now() - keep;
  delete from symphony.delivery_days where day < (now() - keep)::date;
  return total;
end $$;
comment on function symphony.roll_up(interval, interval) is
  'Fold finished messages, bridged rows and delivery events into message_minutes, bridge_minutes and delivery_days from their watermarks (at most max_span per call), and drop rollup rows older than keep. Run every minute by pg_cron''s symphony-rollup job and by the sidecars.';

-- _finished_recently counts, per queue, the messages finished since the
-- rollup's watermark (or within the hour, when the rollup is further behind or
-- has not run), through messages_finished_idx. Dynamic SQL, so the planner sees
-- the bound: with it as an unknown parameter it guesses a third of the table and
-- reads it in full (a parallel sequential scan of 11M rows, 2.5 s).
create function symphony._finished_recently()
returns table (queue text, succeeded_5m bigint, dead_5m bigint, succeeded_1h bigint, dead_1h bigint)
language plpgsql stable set search_path = '' as $$
declare
  hour timestamptz := date_trunc('minute', now()) - interval '1 hour';
  five timestamptz := date_trunc('minute', now()) - interval '5 minutes';
  since timestamptz := greatest(hour, (select upto from symphony.rollup_watermarks where name = 'messages'));
begin
  return query execute
    'select m.queue,
            count(*) filter (where m.state = ''succeeded'' and m.finished_at >= $2),
            count(*) filter (where m.state = ''dead'' and m.finished_at >= $2),
            count(*) filter (where m.state = ''succeeded''),
            count(*) filter (where m.state = ''dead'')
       from symphony.messages m
      where m.finished_at >= $1
      group by m.queue'
    using since, five;
end $$;
comment on function symphony._finished_recently() is
  'Per queue, messages finished since the rollup''s watermark (at most the last hour): succeeded and dead since the start of the minute 5 minutes ago and an hour ago. Part of symphony.queue_stats.';

-- Views an operator reads in Supabase Studio (or with `symphony status`). Each is
-- security_invoker: it reads with the caller's privileges, so a role that cannot read
-- symphony.messages cannot read it through a view either (and Supabase's linter has no
-- security-definer view to flag).

-- ---------------------------------------------------------------------------
-- queue_stats: one row per queue. pending counts messages due now; scheduled
-- those delayed or waiting out a retry backoff (retrying says how many of all
-- pending rows have failed before). Throughput counts finished messages: every
-- minute symphony.roll_up() has folded (everything before its watermark) from
-- symphony.message_minutes, and only what finished since, normally a minute or two
-- of traffic, from symphony.messages (_finished_recently), so the cost does not grow
-- with the hour's traffic. The parts meet at the watermark, a minute boundary: the
-- counts are the same whether or not the rollup has run, and the windows start on a
-- minute ("5 minutes" is 5 to 6 minutes; per_minute_* still divide by 5 and 60).
-- ---------------------------------------------------------------------------
create view symphony.queue_stats with (security_invoker = true) as
-- One branch per partial index (pending, processing, dead, finished by time):
-- a single "state in (...)" scan would read the whole history instead.
with live_parts as (
  select queue,
         count(*) filter (where available_at <= now()) as pending,
         count(*) filter (where available_at > now()) as scheduled,
         count(*) filter (where attempts > 0) as retrying,
         0::bigint as processing,
         min(available_at) filter (where available_at <= now()) as oldest_pending_at
    from symphony.messages
   where state = 'pending'
   group by queue
  union all
  select queue, 0, 0, 0, count(*), null
    from symphony.messages
   where state = 'processing'
   group by queue
), live as (
  select queue, sum(pending) as pending, sum(scheduled) as scheduled, sum(retrying) as retrying,
         sum(processing) as processing, min(oldest_pending_at) as oldest_pending_at
    from live_parts
   group by queue
), dead as (
  select queue, count(*) as dead, max(finished_at) as last_dead_at
    from symphony.messages
   where state = 'dead'
   group by queue
), recent_parts as (
  -- Minutes rolled up: before the watermark.
  select queue,
         sum(succeeded) filter (where minute >= date_trunc('minute', now()) - interval '5 minutes') as succeeded_5m,
         sum(dead) filter (where minute >= date_trunc('minute', now()) - interval '5 minutes') as dead_5m,
         sum(succeeded) as succeeded_1h,
         sum(dead) as dead_1h
    from symphony.message_minutes
   where minute >= date_trunc('minute', now()) - interval '1 hour'
     and minute < (select upto from symphony.rollup_watermarks where name = 'messages')
   group by queue
  union all
  -- Finished since the watermark (symphony._finished_recently).
  select queue, succeeded_5m, dead_5m, succeeded_1h, dead_1h
    from symphony._finished_recently()
), recent as (
  select queue, sum(succeeded_5m) as succeeded_5m, sum(dead_5m) as dead_5m,
         sum(succeeded_1h) as succeeded_1h, sum(dead_1h) as dead_1h
    from recent_parts
   group by queue
), names as (
  select name as queue from symphony.queues
  union select queue from live
  union select queue from dead
  union select queue from recent
)
select n.queue,
       coalesce(l.pending, 0)::bigint    as pending,
       coalesce(l.scheduled, 0)::bigint  as scheduled,
       coalesce(l.retrying, 0)::bigint   as retrying,
       coalesce(l.processing, 0)::bigint as processing,
       coalesce(d.dead, 0)        as dead,
       coalesce(extract(epoch from now() - l.oldest_pending_at), 0)::float8 as oldest_pending_seconds,
       coalesce(r.succeeded_5m, 0)::bigint as succeeded_5m,
       coalesce(r.dead_5m, 0)::bigint      as dead_5m,
       coalesce(r.succeeded_1h, 0)::bigint as succeeded_1h,
       coalesce(r.dead_1h, 0)::bigint      as dead_1h,
       round((coalesce(r.succeeded_5m, 0) + coalesce(r.dead_5m, 0)) / 5.0, 2)  as per_minute_5m,
       round((coalesce(r.succeeded_1h, 0) + coalesce(r.dead_1h, 0)) / 60.0, 2) as per_minute_1h,
       d.last_dead_at
  from names n
  left join live l on l.queue = n.queue
  left join dead d on d.queue = n.queue
  left join recent r on r.queue = n.queue
 order by n.queue;
comment on view symphony.queue_stats is
  'Per queue: pending (due now), scheduled (delayed or backing off), retrying (pending after a failure), processing, dead, the age of the oldest due message, and finished messages since the start of the minute 5 minutes and an hour ago (per_minute_* = succeeded + dead per minute, over 5 and 60). Finished counts come from symphony.message_minutes up to the rollup''s watermark and from symphony.messages after it.';

-- ---------------------------------------------------------------------------
-- recent_failures: the failure queue (dead) and messages waiting to retry after
-- a failed attempt, newest failure first, with the reason.
-- ---------------------------------------------------------------------------
create view symphony.recent_failures with (security_invoker = true) as
select m.id,
       m.queue,
       m.kind,
       m.state,
       m.attempts,
       m.max_attempts,
       coalesce(m.finished_at, (m.errors -> -1 ->> 'at')::timestamptz, m.attempted_at, m.created_at) as failed_at,
       m.last_error as reason,
       m.errors -> -1 ->> 'code' as code,
       m.errors @> '[{"maybe_sent": true}]' as maybe_sent,
       case when m.state = 'pending' then m.available_at end as retry_at,
       case when jsonb_typeof(m.payload -> 'to') = 'array' then m.payload -> 'to' ->> 0
            else m.payload ->> 'to' end as recipient,
       m.subject,
       m.created_at
  from symphony.messages m
 where m.state = 'dead'
    or (m.state = 'pending' and m.attempts > 0 and m.last_error is not null)
 order by failed_at desc, m.id desc;
comment on view symphony.recent_failures is
  'Dead messages (state dead: the failure queue; retry with symphony.retry(id)) and pending messages waiting to retry after a failed attempt (state pending, retry_at), newest failure first. reason is the last error; code the provider''s code.';

-- ---------------------------------------------------------------------------
-- worker_status: sidecars with their heartbeats. A sidecar beats every 10 s;
-- one that has not beaten for 30 s (three missed beats) and did not stop cleanly
-- is stale: crashed, frozen or cut off from the database. Its claims come back
-- when their leases expire. Sidecars stopped over a day ago are left out.
-- ---------------------------------------------------------------------------
create view symphony.worker_status with (security_invoker = true) as
select w.id,
       w.hostname,
       w.version,
       w.queues,
       case when w.stopped_at is not null then 'stopped'
            when w.heartbeat_at < now() - interval '30 seconds' then 'stale'
            else 'alive' end as status,
       extract(epoch from now() - w.heartbeat_at)::float8 as heartbeat_age_seconds,
       (select count(*) from symphony.messages m
         where m.state = 'processing' and m.locked_by = w.id) as processing,
       w.started_at,
       w.heartbeat_at,
       w.stopped_at
  from symphony.workers w
 where w.stopped_at is null or w.stopped_at > now() - interval '1 day'
 order by w.stopped_at is not null, w.heartbeat_at desc;
comment on view symphony.worker_status is
  'Sidecars: alive (beat within 30 s), stale (no beat for 30 s and no clean stop: look at it), stopped (within the last day). processing = messages it holds now.';

-- ---------------------------------------------------------------------------
-- flag_status: each flag with what it does right now. effective_percent is the
-- share of subjects symphony.rollout sends to Symphony (0 while the master
-- switch or the flag is off); for the master switch itself, 100 or 0.
-- ---------------------------------------------------------------------------
create view symphony.flag_status with (security_invoker = true) as
select f.name,
       f.enabled,
       f.rollout_percent,
       case when not coalesce(master.enabled, false) or not f.enabled then 0
            when f.name = 'symphony' then 100
            else f.rollout_percent end as effective_percent,
       f.description,
       f.updated_at,
       f.updated_by,
       c.changed_at as last_changed_at,
       c.changed_by as last_changed_by
  from symphony.flags f
  left join symphony.flags master on master.name = 'symphony'
  left join lateral (
    select fc.changed_at, fc.changed_by from symphony.flag_changes fc
     where fc.flag = f.name order by fc.id desc limit 1) c on true
 order by f.name <> 'symphony', f.name;
comment on view symphony.flag_status is
  'Flags with effective_percent: the share of subjects routed to Symphony now (master switch and flag both on), and the last audited change.';

-- ---------------------------------------------------------------------------
-- pg_cron: used when it can be created here (on Supabase, and in the one database
-- named by cron.database_name elsewhere). Without it this migration still applies
-- and the sidecar's own timers run the same functions: the tick, retention and the
-- schedules (every sidecar runs symphony.run_schedules() on a timer too).
-- ---------------------------------------------------------------------------

do $$
declare
  v text;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    begin
      -- In pg_catalog, as Supabase installs it: its control file names no schema, so it
      -- would otherwise land in public and trip the Advisor's extension_in_public lint.
      create extension pg_cron with schema pg_catalog;
    exception when others then
      raise notice 'symphony: pg_cron cannot be used in this database (%); the sidecar''s timers do its jobs', sqlerrm;
    end;
  end if;
  select extversion into v from pg_extension where extname = 'pg_cron';
  if v is null then
    return;
  end if;
  -- Second-level schedules arrived in pg_cron 1.5 (Supabase runs 1.6; Debian ships 1.4).
  perform cron.schedule('symphony-tick',
    case when (regexp_match(v, '^(\d+)\.(\d+)'))::int[] >= array[1, 5] then '5 seconds' else '* * * * *' end,
    'select symphony.tick()');
  perform cron.schedule('symphony-purge', '17 3 * * *', 'select symphony.purge_finished()');
  perform cron.schedule('symphony-scheduler',
    case when (regexp_match(v, '^(\d+)\.(\d+)'))::int[] >= array[1, 5] then '5 seconds' else '* * * * *' end,
    'select symphony.run_schedules()');
  perform cron.schedule('symphony-cron-history', '*/15 * * * *', 'select symphony.purge_cron_history()');
  perform cron.schedule('symphony-rollup', '* * * * *', 'select symphony.roll_up()');
end $$;

-- ===========================================================================
-- 6. Access.
-- ===========================================================================

-- Nothing for anon and authenticated; service_role dispatches, reads and manages, and
-- changes states only through the functions above (cancel, retry, remove_dead, the
-- campaign and drip functions), never by writing the queue itself. The sidecar runs
-- as the owner.
--
-- Functions are not executable by PUBLIC. A per-schema "alter default privileges …
-- revoke execute … from public" has no effect (PostgreSQL's default EXECUTE for PUBLIC
-- is global), so a migration that creates a function revokes from PUBLIC what it
-- created, and anon and authenticated have no USAGE on the schema;
-- supabase/tests/access.test.sql and grants.test.sql check both.
revoke all on all tables in schema symphony from public;
revoke all on all sequences in schema symphony from public;
revoke all on all functions in schema symphony from public;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on schema symphony from %I', r);
      execute format('revoke all on all tables in schema symphony from %I', r);
      execute format('revoke all on all sequences in schema symphony from %I', r);
      execute format('revoke all on all functions in schema symphony from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant usage on schema symphony to service_role;
    -- Every table and view, including symphony.listeners: the insert trigger runs as
    -- the dispatching role and reads it.
    grant select on all tables in schema symphony to service_role;
    -- The insert trigger reads this sequence too.
    grant select on sequence symphony.listening to service_role;

    -- The message lifecycle and the flags.
    grant insert on symphony.messages to service_role;
    grant update (enabled, rollout_percent, description) on symphony.flags to service_role;
    grant update (per_second, burst, description) on symphony.rate_limits to service_role;
    grant insert, update on symphony.queues to service_role;
    grant insert, update on symphony.kinds to service_role;
    grant execute on function
      symphony.dispatch(text, jsonb, jsonb),
      symphony.send_email(text, text, text, text, text, jsonb),
      symphony.send_sms(text, text, text, jsonb),
      symphony.register_kind(text, text, integer, text, jsonb, text),
      symphony.rollout(text, text),
      symphony.bucket(text, text),
      symphony.cancel(bigint, text),
      symphony.retry(bigint),
      symphony.remove_dead(bigint),
      symphony.email_address(text),
      symphony.actor(),
      symphony.bridge_owner(text, text),
      symphony.suppress(text, text, text, text),
      symphony.normalize_address(text, text),
      symphony.valid_time_zone(text),
      symphony.validate_payload(text, jsonb),
      -- called by the insert triggers as the inserting role:
      symphony._fail(text, text, text),
      symphony._check_addresses(text, text, jsonb, boolean, integer),
      symphony._check_string(text, text, jsonb, boolean, integer, boolean),
      symphony.validate_email_payload(jsonb),
      symphony.validate_sms_payload(jsonb),
      symphony.validate_quiet_hours(text, jsonb),
      -- the check kinds_config_has_no_secrets runs as the role that writes kinds:
      symphony._config_credential(jsonb, text),
      -- read by the symphony.queue_stats view, as the reading role:
      symphony._finished_recently()
    to service_role;

    -- Campaigns, drips, schedules, templates and suppressions: content and audiences
    -- are written directly; states change only through the functions.
    grant insert, update, delete on symphony.templates, symphony.suppressions, symphony.drip_steps to service_role;
    grant insert on symphony.campaigns, symphony.campaign_recipients, symphony.drips, symphony.drip_enrollments,
      symphony.schedules to service_role;
    grant update (name, "from", reply_to, template, subject, html, "text", unsubscribe_url, unsubscribe_mailto,
                  priority, batch_size, meta) on symphony.campaigns to service_role;
    grant update (email, data), delete on symphony.campaign_recipients to service_role;
    grant update (name, "from", time_zone, quiet_hours, send_from, send_until) on symphony.drips to service_role;
    grant update (data, time_zone) on symphony.drip_enrollments to service_role;
    grant update (kind, payload, options, every, cron, time_zone, enabled, next_run_at, description), delete
      on symphony.schedules to service_role;
    grant execute on function
      symphony.start_campaign(bigint, timestamptz),
      symphony.pause_campaign(bigint),
      symphony.resume_campaign(bigint),
      symphony.cancel_campaign(bigint, text),
      symphony.unenroll(bigint, text),
      symphony.unenroll(text, text, text),
      symphony.template_variables(text, text),
      symphony.cron_next(text, text, timestamptz),
      symphony.schedule_next(interval, text, text, timestamptz),
      -- called by triggers and checks as the writing role:
      symphony.missing_variable(text[], jsonb, text[]),
      symphony.campaign_builtins(),
      symphony._check_id(text, text, jsonb),
      symphony._cron_field(text, text, integer, integer),
      symphony.validate_campaign_process_payload(jsonb),
      symphony.validate_drip_step_payload(jsonb)
    to service_role;
  end if;
end $$;
