-- Symphony Messenger: campaigns, SMS drips, recurring schedules, suppression, quiet
-- hours and templates.
--
-- Campaigns and drips are rows; the sidecar's campaign.process and drip.step handlers
-- call the functions below, which do the bookkeeping set-based and in one transaction,
-- so a crash at any point leaves either everything of a batch or nothing. Templates are
-- rendered by the sidecar (its template package); this file checks their syntax and
-- their variables at insert, the earliest point.
--
-- Same conventions as the first migration: every function pins search_path to '' and
-- names objects in full; SECURITY DEFINER only where a comment says why.

-- ---------------------------------------------------------------------------
-- Kinds may name a payload validator. Text, not regprocedure: pg_upgrade refuses
-- tables with reg* columns other than regclass/regtype/regrole, and Supabase
-- upgrades Postgres with pg_upgrade.
-- ---------------------------------------------------------------------------
alter table symphony.kinds add column validator text
  check (validator ~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$');
comment on column symphony.kinds.validator is
  'Optional schema-qualified function name f(payload jsonb) run at insert for kinds other than email.send and sms.send; it raises SQLSTATE 22023 naming the bad field.';

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

-- A second insert trigger, after messages_before_insert (triggers fire in name
-- order): a kind's validator, and meta.quiet_hours where present. Its WHEN clause
-- keeps it off the email.send and sms.send rows that need neither, so the hot
-- dispatch path costs what it did.
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
   'Send one due step of a drip enrollment as sms.send and schedule the next: enrollment_id, step.')
on conflict (kind) do update set
  queue = excluded.queue, max_attempts = excluded.max_attempts, validator = excluded.validator,
  description = excluded.description;

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
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
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
  created_at timestamptz not null default now(),
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
  scheduled_at       timestamptz,
  started_at         timestamptz,
  completed_at       timestamptz,
  paused_at          timestamptz,
  cancelled_at       timestamptz,
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
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);
comment on table symphony.campaigns is
  'Email campaigns. Insert as draft with content (subject, html and/or text) or a template, add campaign_recipients, then symphony.start_campaign(id[, at]). status: draft → scheduled → running → completed (every recipient queued, skipped or failed); paused and cancelled by symphony.pause_campaign / cancel_campaign. Delivery per recipient: symphony.campaign_progress.';
comment on column symphony.campaigns.unsubscribe_url is
  'https URL template, e.g. https://app.example/unsubscribe?r={{recipient_id}}&t={{token}}. When set, every email carries List-Unsubscribe and List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058), and {{unsubscribe_url}} is available to the content.';
comment on column symphony.campaigns.priority is 'Priority of the campaign''s email.send messages; below 0 by default so transactional email goes first.';

create table symphony.campaign_recipients (
  id           bigint generated always as identity primary key,
  campaign_id  bigint not null references symphony.campaigns (id) on delete cascade,
  email        text not null,
  data         jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  status       text not null default 'pending'
               check (status in ('pending', 'queued', 'skipped', 'failed', 'cancelled')),
  message_id   bigint,
  error        text,
  processed_at timestamptz,
  created_at   timestamptz not null default now(),
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
  created_at  timestamptz not null default now(),
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

create table symphony.drip_enrollments (
  id              bigint generated always as identity primary key,
  drip_id         bigint not null references symphony.drips (id) on delete cascade,
  phone           text not null,
  data            jsonb not null default '{}' check (jsonb_typeof(data) = 'object'),
  time_zone       text check (time_zone is null or symphony.valid_time_zone(time_zone)),
  status          text not null default 'active'
                  check (status in ('active', 'completed', 'unenrolled', 'opted_out')),
  next_step       integer,
  next_at         timestamptz,
  steps_sent      integer not null default 0,
  last_message_id bigint,
  enrolled_at     timestamptz not null default now(),
  ended_at        timestamptz,
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
  next_run_at     timestamptz not null,
  last_run_at     timestamptz,
  last_message_id bigint,
  last_error      text,
  runs            bigint not null default 0,
  description     text,
  created_at      timestamptz not null default now(),
  updated_at      timestamptz not null default now(),
  constraint schedules_one_rule check ((every is null) <> (cron is null))
);
comment on table symphony.schedules is
  'Recurring dispatches: every (an interval, aligned to multiples of it since 2000-01-01 UTC) or cron (five fields, in time_zone). When due, symphony.run_schedules() dispatches kind/payload with options (queue, priority, max_attempts, subject, meta) and dedupe_key schedule:<name>:<due time>. Runs missed while nothing ran are fired once, late, not once each. Set next_run_at = now() to run one at once.';
create index schedules_due_idx on symphony.schedules (next_run_at) where enabled;

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

-- ---------------------------------------------------------------------------
-- pg_cron: the scheduler job, where pg_cron exists (as for symphony-tick). Every
-- sidecar also runs symphony.run_schedules() on a timer, so schedules fire
-- without pg_cron too.
-- ---------------------------------------------------------------------------
do $$
declare
  v text;
begin
  select extversion into v from pg_extension where extname = 'pg_cron';
  if v is null then
    return;
  end if;
  perform cron.schedule('symphony-scheduler',
    case when (regexp_match(v, '^(\d+)\.(\d+)'))::int[] >= array[1, 5] then '5 seconds' else '* * * * *' end,
    'select symphony.run_schedules()');
end $$;

-- ---------------------------------------------------------------------------
-- Access, as in the first migration: nothing for anon and authenticated;
-- service_role manages campaigns, drips, schedules, templates and suppressions,
-- and changes states only through the functions above.
-- ---------------------------------------------------------------------------
revoke all on all tables in schema symphony from public;
revoke all on all sequences in schema symphony from public;
revoke all on all functions in schema symphony from public;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on all tables in schema symphony from %I', r);
      execute format('revoke all on all sequences in schema symphony from %I', r);
      execute format('revoke all on all functions in schema symphony from %I', r);
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant select on symphony.templates, symphony.suppressions, symphony.campaigns, symphony.campaign_recipients,
      symphony.campaign_progress, symphony.drips, symphony.drip_steps, symphony.drip_enrollments, symphony.schedules
      to service_role;
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
      symphony.suppress(text, text, text, text),
      symphony.normalize_address(text, text),
      symphony.template_variables(text, text),
      symphony.valid_time_zone(text),
      symphony.cron_next(text, text, timestamptz),
      symphony.schedule_next(interval, text, text, timestamptz),
      symphony.validate_payload(text, jsonb),
      -- called by triggers and checks as the writing role:
      symphony.missing_variable(text[], jsonb, text[]),
      symphony.campaign_builtins(),
      symphony.validate_quiet_hours(text, jsonb),
      symphony._check_id(text, text, jsonb),
      symphony._cron_field(text, text, integer, integer),
      symphony.validate_campaign_process_payload(jsonb),
      symphony.validate_drip_step_payload(jsonb)
    to service_role;
  end if;
end $$;
