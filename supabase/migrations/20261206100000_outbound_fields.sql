-- What email.send may carry to a provider (docs/providers.md, "Addresses and fields").
--
-- Addresses: a display name may hold a comma or an @ only inside quotes, so that no
-- provider can read one mailbox as several, and a suppression check on the address in
-- angle brackets covers everything that is sent. Nothing but spaces and tabs after the
-- closing >. Local parts are dot-atoms (no leading, trailing or doubled dot).
-- Subjects and every other one-line field refuse NEL, U+2028 and U+2029 as line breaks.
-- Tags: values in Resend's charset. Headers: none that a provider reserves. Storage
-- paths: no percent-escapes.
-- ---------------------------------------------------------------------------

-- email_address returns the bare address of a mailbox, or null when the text is not
-- one of the forms below. The sidecar's parser (sidecar/handler/payload_address.go)
-- accepts exactly the same strings.
--   address                   local@domain, at most 254 characters, local part at most 64
--   words <address>           words: letters of any script, digits, spaces, . and
--                             !#$%&'*+-/=?^_`{|}~ (no , ; : @ ( ) [ ] \ " < >)
--   "quoted name" <address>   anything printable but " \ < >
-- with spaces or tabs around the mailbox. Control characters, NEL and U+2028/U+2029
-- are refused everywhere.
create or replace function symphony.email_address(mailbox text) returns text
language sql immutable parallel safe set search_path = '' as $$
  select case when a ~ '^[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$'
               and length(a) <= 254 and length(split_part(a, '@', 1)) <= 64 then a end
  from (select coalesce(substring(mailbox from
    '^[ \t]*(?:"[ \t!\u0023-\u003b=\u003f-\u005b\u005d-\u007e\u00a0-\u2027\u202a-\U0010ffff]*"|[A-Za-z0-9!#$%&''*+/=?^_`{|}~. \t\u00a0-\u2027\u202a-\U0010ffff-]*)[ \t]*<([^<>]*)>[ \t]*$'),
    mailbox) as a) s
$$;

-- _check_string: as before, with NEL, U+2028 and U+2029 counted as line breaks.
create or replace function symphony._check_string(kind text, field text, v jsonb, required boolean, max_len integer, single_line boolean default false)
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

create or replace function symphony.validate_email_payload(p jsonb) returns void
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

