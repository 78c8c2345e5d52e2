-- Symphony Messenger: the queue, its kinds, the rollout flags and the wake-up plumbing.
--
-- Applies with `supabase db push` or, as the migration guide's Phase 1 shows, with
-- `psql -f` on any PostgreSQL 15. Applying it changes nothing for an existing app:
-- every flag starts off, and nothing is claimed until the master flag `symphony` is on.
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
  created_at timestamptz not null default now()
);
insert into symphony.installation default values;

-- ---------------------------------------------------------------------------
-- Kinds: what may be dispatched, and where it goes.
-- ---------------------------------------------------------------------------
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
  created_at        timestamptz not null default now()
);
comment on table symphony.kinds is
  'Message kinds that may be dispatched. Unknown kinds are rejected at insert; add your own with symphony.register_kind().';

insert into symphony.kinds (kind, queue, max_attempts, description) values
  ('email.send', 'email', 5, 'Send one email: to, from, subject, html and/or text; optional cc, bcc, reply_to, headers, tags, attachments.'),
  ('sms.send',   'sms',   5, 'Send one SMS: to (E.164), body; optional from.');

-- ---------------------------------------------------------------------------
-- Flags: the migration switches operators change in Studio. No redeploy needed.
-- ---------------------------------------------------------------------------
create table symphony.flags (
  name            text primary key check (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  enabled         boolean not null default false,
  rollout_percent integer not null default 0 check (rollout_percent between 0 and 100),
  description     text,
  updated_at      timestamptz not null default now(),
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
  changed_at      timestamptz not null default now(),
  changed_by      text not null,
  old_enabled     boolean,
  new_enabled     boolean,
  old_rollout_percent integer,
  new_rollout_percent integer
);
comment on table symphony.flag_changes is 'Audit trail of every flag change: who, when, old and new values.';

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
  available_at  timestamptz not null default now(),
  locked_by     text,
  locked_until  timestamptz,
  dedupe_key    text check (length(dedupe_key) between 1 and 200),
  subject       text,
  meta          jsonb not null default '{}' check (jsonb_typeof(meta) = 'object'),
  last_error    text,
  errors        jsonb not null default '[]' check (jsonb_typeof(errors) = 'array'),
  result        jsonb,
  cancelled_by  text,
  created_at    timestamptz not null default now(),
  attempted_at  timestamptz,
  finished_at   timestamptz,
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

-- ---------------------------------------------------------------------------
-- Sidecars register and beat here; a sidecar that stops beating is visible.
-- ---------------------------------------------------------------------------
create table symphony.workers (
  id            text primary key,
  hostname      text not null,
  version       text not null,
  queues        jsonb not null default '{}',
  started_at    timestamptz not null default now(),
  heartbeat_at  timestamptz not null default now(),
  stopped_at    timestamptz
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

-- email_address returns the bare address of "a@b.c" or "Name <a@b.c>", or null when
-- the text is not one address. Deliberately simpler than RFC 5322: what providers
-- accept, at most 254 characters with a local part of at most 64. (Lengths are
-- checked apart from the pattern: counted repetitions made it 8x slower.)
create function symphony.email_address(mailbox text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select case when a ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
               and length(a) <= 254 and length(split_part(a, '@', 1)) <= 64 then a end
  from (select coalesce(substring(mailbox from '^[^<>\r\n]*<([^<>\s]+)>\s*$'), mailbox) as a) s
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
  if single_line and (v #>> '{}') ~ '[\r\n]' then
    perform symphony._fail(kind, format('"%s"', field), 'must not contain line breaks');
  end if;
end $$;

create function symphony.validate_email_payload(p jsonb) returns void
language plpgsql immutable set search_path = '' as $$
declare
  k constant text := 'email.send';
  allowed constant text[] := array['to', 'from', 'subject', 'html', 'text', 'cc', 'bcc', 'reply_to', 'headers', 'tags', 'attachments'];
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
     and (p ->> 'to') ~ '^[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
     and jsonb_typeof(p -> 'from') = 'string' and length(p ->> 'from') <= 254
     and length(split_part(p ->> 'from', '@', 1)) <= 64
     and (p ->> 'from') ~ '^(?:[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+|[^<>\r\n]*<[A-Za-z0-9.!#$%&''*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+>)$'
     and jsonb_typeof(p -> 'subject') = 'string' and length(p ->> 'subject') <= 998
     and btrim(p ->> 'subject') <> '' and (p ->> 'subject') !~ '[\r\n]'
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

-- One NOTIFY per statement and queue, not per row: a bulk insert of 10,000 rows wakes
-- the sidecar once. Delayed rows wake nobody; the poll and the tick find them when due.
create function symphony.messages_notify() returns trigger
language plpgsql set search_path = '' as $$
declare
  q text;
begin
  for q in select distinct i.queue from inserted i where i.available_at <= now() loop
    perform pg_notify('symphony', q);
  end loop;
  return null;
end $$;

create trigger messages_notify after insert on symphony.messages
  referencing new table as inserted
  for each statement execute function symphony.messages_notify();

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

-- actor names whoever is acting, for audit columns: an explicit
-- `set symphony.actor = '…'`, else the email in a PostgREST request's JWT, else
-- the session user.
create function symphony.actor() returns text
language sql stable set search_path = '' as $$
  select coalesce(
    nullif(current_setting('symphony.actor', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email',
    session_user::text)
$$;

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
create function symphony.cancel(message_id bigint, reason text default null) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  actor text := symphony.actor();
begin
  update symphony.messages
     set state = 'cancelled', cancelled_by = actor, finished_at = now(),
         last_error = coalesce(reason, last_error), locked_by = null, locked_until = null
   where id = message_id and state = 'pending';
  return found;
end $$;
comment on function symphony.cancel(bigint, text) is
  'Cancel a pending message (not one in flight); returns whether it was cancelled. Records who cancelled it.';

create function symphony.retry(message_id bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  q text;
begin
  update symphony.messages
     set state = 'pending', attempts = 0, available_at = now(), finished_at = null,
         cancelled_by = null, result = null
   where id = message_id and state in ('dead', 'cancelled')
  returning queue into q;
  if q is null then
    return false;
  end if;
  perform pg_notify('symphony', q);
  return true;
end $$;
comment on function symphony.retry(bigint) is 'Send a dead or cancelled message again from its first attempt; its error history is kept.';

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
  refilled_at   timestamptz not null default clock_timestamp(),
  paused_until  timestamptz,                      -- set when the provider answers 429
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
-- that was delayed has come due. It makes NOTIFY a speed-up, never load-bearing.
create function symphony.tick() returns integer
language plpgsql set search_path = '' as $$
declare
  rescued integer := symphony.rescue_expired();
begin
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

-- ---------------------------------------------------------------------------
-- pg_cron: used when it can be created here (on Supabase, and in the one database
-- named by cron.database_name elsewhere). Without it this migration still applies
-- and the sidecar's own timers run the same functions.
-- ---------------------------------------------------------------------------
do $$
declare
  v text;
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron')
     and exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    begin
      create extension pg_cron;
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
end $$;

-- ---------------------------------------------------------------------------
-- Access: nothing for anon and authenticated; service_role dispatches, reads and
-- manages. Functions are not executable by PUBLIC (PostgreSQL's default).
-- ---------------------------------------------------------------------------
revoke all on all tables in schema symphony from public;
revoke all on all sequences in schema symphony from public;
revoke all on all functions in schema symphony from public;
-- (A per-schema "alter default privileges … revoke execute … from public" has no
-- effect: PostgreSQL's default EXECUTE for PUBLIC is global. Every migration
-- therefore ends by revoking from PUBLIC what it created, and anon and
-- authenticated have no USAGE on the schema; supabase/tests/access.test.sql
-- and grants.test.sql check both.)

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
    grant select on all tables in schema symphony to service_role;
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
      symphony.email_address(text),
      symphony.actor(),
      -- called by the insert trigger as the inserting role:
      symphony._fail(text, text, text),
      symphony._check_addresses(text, text, jsonb, boolean, integer),
      symphony._check_string(text, text, jsonb, boolean, integer, boolean),
      symphony.validate_email_payload(jsonb),
      symphony.validate_sms_payload(jsonb)
    to service_role;
  end if;
end $$;
