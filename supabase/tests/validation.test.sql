-- Dispatch validation: bad input fails at INSERT with SQLSTATE 22023 and a message that
-- names the offending field; good input is completed from symphony.kinds.
begin;
create extension if not exists pgtap;
select plan(139);

-- Valid base payloads; each bad case changes one thing.
create function pg_temp.email() returns jsonb language sql immutable as $$
  select '{"to": "ada@example.com", "from": "Ops <ops@example.com>", "subject": "Hi", "text": "Hello"}'::jsonb
$$;
create function pg_temp.sms() returns jsonb language sql immutable as $$
  select '{"to": "+14155550100", "body": "Hello"}'::jsonb
$$;

-- rejects: inserting (kind, payload) fails with SQLSTATE 22023 (throws_ok) and the error
-- message names the field (throws_like). Two assertions per case.
create function pg_temp.rejects(kind text, payload jsonb, field text, description text)
returns setof text language plpgsql as $$
declare
  stmt text := format('insert into symphony.messages (kind, payload) values (%L, %L::jsonb)', kind, payload);
begin
  return next throws_ok(stmt, '22023', null, description || ': SQLSTATE 22023');
  return next throws_like(stmt, '%' || field || '%', description || ': message names ' || field);
end $$;

-- hint_of returns the HINT of the error a statement raises (null if it raises none).
create function pg_temp.hint_of(stmt text) returns text language plpgsql as $$
declare
  h text;
begin
  execute stmt;
  return null;
exception when others then
  get stacked diagnostics h = pg_exception_hint;
  return h;
end $$;

-- ---------------------------------------------------------------------------
-- Valid messages are accepted and completed from symphony.kinds.
-- ---------------------------------------------------------------------------
select lives_ok(
  format('insert into symphony.messages (kind, payload, meta) values (%L, %L, %L)',
         'email.send', pg_temp.email(), '{"case": "valid-email"}'),
  'a minimal email.send is accepted');
select results_eq(
  $$select queue, max_attempts, state, attempts from symphony.messages where meta ->> 'case' = 'valid-email'$$,
  $$select 'email'::text, max_attempts, 'pending'::text, 0 from symphony.kinds where kind = 'email.send'$$,
  'email.send: queue derived from the kind (email), max_attempts from symphony.kinds, pending with no attempts');

select lives_ok(
  format('insert into symphony.messages (kind, payload, meta) values (%L, %L, %L)',
         'sms.send', pg_temp.sms(), '{"case": "valid-sms"}'),
  'a minimal sms.send is accepted');
select results_eq(
  $$select queue, max_attempts from symphony.messages where meta ->> 'case' = 'valid-sms'$$,
  $$select 'sms'::text, max_attempts from symphony.kinds where kind = 'sms.send'$$,
  'sms.send: queue derived from the kind (sms), max_attempts from symphony.kinds');

-- max_attempts follows the kind's row, not a constant.
update symphony.kinds set max_attempts = 9 where kind = 'sms.send';
insert into symphony.messages (kind, payload, meta) values ('sms.send', pg_temp.sms(), '{"case": "kind-max-attempts"}');
select is((select max_attempts from symphony.messages where meta ->> 'case' = 'kind-max-attempts'), 9,
  'max_attempts is read from symphony.kinds at insert');

select lives_ok($$
  insert into symphony.messages (kind, payload) values ('email.send', '{
    "to": ["Ada Lovelace <ada@example.com>", "grace@example.org"],
    "cc": "bob@example.com",
    "bcc": ["audit@example.com"],
    "reply_to": "Support <support@example.com>",
    "from": "Symphony <no-reply@mail.example.com>",
    "subject": "Your receipt",
    "html": "<p>Thanks</p>",
    "text": "Thanks",
    "headers": {"X-Entity-Ref-ID": "abc-123", "List-Unsubscribe": "<mailto:u@example.com>"},
    "attachments": [{"filename": "receipt.pdf", "content": "JVBERi0xLjQK", "content_type": "application/pdf"},
                    {"filename": "note.txt", "content": "aGVsbG8=\n"}]
  }')$$,
  'email.send with the optional fields (display names, arrays, cc, bcc, reply_to, headers, attachments) is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'email.send',
         pg_temp.email() || '{"tags": {"campaign": "spring_2026", "user-tier": "gold"}}'),
  'email.send with valid tags is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'email.send', pg_temp.email() - 'text' || '{"html": "<b>hi</b>"}'),
  'email.send with html and no text is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'sms.send', pg_temp.sms() || jsonb_build_object('body', repeat('x', 1600))),
  'sms.send with a 1600-character body is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'sms.send', pg_temp.sms() || '{"from": "+14155550199"}'),
  'sms.send from an E.164 number is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'sms.send', pg_temp.sms() || '{"from": "Acme Shop"}'),
  'sms.send from an alphanumeric sender ID is accepted');
select lives_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'sms.send',
         pg_temp.sms() || jsonb_build_object('from', 'MG' || md5('service'))),
  'sms.send from a messaging service SID is accepted');

-- ---------------------------------------------------------------------------
-- email.send: each bad input is rejected, naming the field.
-- ---------------------------------------------------------------------------
select * from pg_temp.rejects('email.send', pg_temp.email() - 'to', '"to"', 'email: missing to');
select * from pg_temp.rejects('email.send', pg_temp.email() - 'from', '"from"', 'email: missing from');
select * from pg_temp.rejects('email.send', pg_temp.email() - 'subject', '"subject"', 'email: missing subject');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"subject": "  "}', '"subject"', 'email: blank subject');
select * from pg_temp.rejects('email.send', pg_temp.email() - 'text', '"html" or "text"', 'email: no html and no text');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"text": "", "html": ""}', '"html" or "text"', 'email: empty html and text');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"to": "not-an-address"}', '"to"', 'email: invalid to address');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"to": []}', '"to"', 'email: empty to array');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"to": 42}', '"to"', 'email: to is a number');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"to": ["ada@example.com", 42]}', '"to[1]"', 'email: address array with a non-string');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"cc": ["bob@example.com", "bob@"]}', '"cc"', 'email: invalid address in cc array');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"from": "ops@"}', '"from"', 'email: invalid from address');
select * from pg_temp.rejects('email.send', pg_temp.email() || jsonb_build_object('to', E'ada@example.com\nBcc: eve@example.com'), '"to"', 'email: to with a line break (header injection)');
select * from pg_temp.rejects('email.send', pg_temp.email() || jsonb_build_object('from', E'ops@example.com\r\nBcc: eve@example.com'), '"from"', 'email: from with CR/LF');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"txt": "Hello"}', '"txt"', 'email: unknown field txt');
select * from pg_temp.rejects('email.send', pg_temp.email() || jsonb_build_object('subject', E'Hi\nBcc: eve@example.com'), '"subject"', 'email: subject with a line feed');
select * from pg_temp.rejects('email.send', pg_temp.email() || jsonb_build_object('subject', E'Hi\rthere'), '"subject"', 'email: subject with a carriage return');
select * from pg_temp.rejects('email.send', pg_temp.email() || jsonb_build_object('headers', jsonb_build_object('X-Campaign', E'spring\r\nBcc: eve@example.com')), '"headers.X-Campaign"', 'email: header value with CR/LF');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"headers": {"X Bad": "v"}}', '"headers.X Bad"', 'email: bad header name');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"headers": ["X-A: b"]}', '"headers"', 'email: headers not an object');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"tags": {"bad tag!": "v"}}', '"tags.bad tag!"', 'email: bad tag name');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "../../etc/passwd", "content": "aGk="}]}', '"attachments[0].filename"', 'email: attachment filename is a path');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "ok.txt", "content": "aGk="}, {"filename": "C:\\temp\\x.pdf", "content": "aGk="}]}', '"attachments[1].filename"', 'email: second attachment filename is a Windows path');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "x.pdf", "content": "not base64!"}]}', '"attachments[0].content"', 'email: attachment content is not base64');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "x.pdf"}]}', '"attachments[0]" needs exactly one of content', 'email: attachment with neither content nor storage');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "x.pdf", "content": "aGk=", "storage": {"bucket": "b", "path": "p"}}]}', '"attachments[0]" needs exactly one of content', 'email: attachment with both content and storage');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "x.pdf", "storage": {"bucket": "b", "path": "../secrets/x"}}]}', '"attachments[0].storage.path"', 'email: storage path escaping the bucket');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": [{"filename": "x.pdf", "storage": {"bucket": "b"}}]}', 'attachments[0].storage.path', 'email: storage without a path');
select lives_ok(format('insert into symphony.messages (kind, payload) values (%L, %L::jsonb)', 'email.send',
  pg_temp.email() || '{"attachments": [{"filename": "inv.pdf", "storage": {"bucket": "invoices", "path": "2026/11/inv-42.pdf"}}]}'),
  'email: an attachment from Supabase Storage is accepted');
select throws_like($$select symphony.dispatch('sms.send', '{"to": "+14155550100", "body": "x"}', '{"delay": "soon"}')$$,
  '%dispatch option delay%', 'a malformed delay names the option');
select throws_like($$select symphony.dispatch('sms.send', '{"to": "+14155550100", "body": "x"}', '{"priority": 99999}')$$,
  '%dispatch option priority%', 'an out-of-range priority names the option');
select * from pg_temp.rejects('email.send', pg_temp.email() || '{"attachments": {"filename": "x.pdf", "content": "aGk="}}', '"attachments"', 'email: attachments not an array');
select * from pg_temp.rejects('email.send', '"hello"', 'payload must be a JSON object', 'email: payload is a string');
select * from pg_temp.rejects('email.send', '[{"to": "ada@example.com"}]', 'payload must be a JSON object', 'email: payload is an array');

-- ---------------------------------------------------------------------------
-- sms.send
-- ---------------------------------------------------------------------------
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"to": "4155550100"}', '"to"', 'sms: to without +country code');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"to": "+1 415 555 0100"}', '"to"', 'sms: to with spaces');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"to": "+01415555010"}', '"to"', 'sms: to with a leading zero country code');
select * from pg_temp.rejects('sms.send', pg_temp.sms() - 'to', '"to"', 'sms: missing to');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"body": ""}', '"body"', 'sms: empty body');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"body": "   "}', '"body"', 'sms: blank body');
select * from pg_temp.rejects('sms.send', pg_temp.sms() - 'body', '"body"', 'sms: missing body');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || jsonb_build_object('body', repeat('x', 1601)), '"body"', 'sms: body over 1600 characters');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"from": "Acme-Shop"}', '"from"', 'sms: alphanumeric sender with a hyphen');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"from": "AcmeShopping1"}', '"from"', 'sms: alphanumeric sender over 11 characters');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"from": "12345"}', '"from"', 'sms: sender of digits only (neither E.164 nor alphanumeric)');
select * from pg_temp.rejects('sms.send', pg_temp.sms() || '{"text": "Hello"}', '"text"', 'sms: unknown field text');
select * from pg_temp.rejects('sms.send', '42', 'payload must be a JSON object', 'sms: payload is a number');

-- ---------------------------------------------------------------------------
-- Kinds.
-- ---------------------------------------------------------------------------
select throws_ok(
  $$insert into symphony.messages (kind, payload) values ('email.sned', '{}')$$,
  '22023', 'symphony: unknown message kind ''email.sned''', 'an unknown kind is rejected with 22023, naming it');
select matches(
  pg_temp.hint_of($$insert into symphony.messages (kind, payload) values ('email.sned', '{}')$$),
  'register_kind', 'the unknown-kind error hints at symphony.register_kind');

select * from pg_temp.rejects('acme.ping', '{}', 'unknown message kind', 'a kind that is not yet registered');
select lives_ok($$select symphony.register_kind('acme.ping', 'acme', 3)$$, 'register_kind() registers a new kind');
select lives_ok($$insert into symphony.messages (kind, payload, meta) values ('acme.ping', '{"n": 1}', '{"case": "acme"}')$$,
  'a registered kind is dispatchable');
select results_eq(
  $$select queue, max_attempts from symphony.messages where meta ->> 'case' = 'acme'$$,
  $$values ('acme'::text, 3)$$,
  'a registered kind takes its queue and max_attempts from register_kind()');
select * from pg_temp.rejects('acme.ping', '[1, 2]', 'payload must be a JSON object', 'a registered kind still needs an object payload');

-- ---------------------------------------------------------------------------
-- Size, encoding and server-owned columns.
-- ---------------------------------------------------------------------------
insert into symphony.kinds (kind, queue, max_payload_bytes) values ('acme.tiny', 'acme', 64);
select lives_ok($$insert into symphony.messages (kind, payload) values ('acme.tiny', '{"n": 1}')$$,
  'a payload under the kind''s max_payload_bytes is accepted');
select throws_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'acme.tiny', jsonb_build_object('data', repeat('x', 100))),
  '54000', null, 'a payload over the kind''s max_payload_bytes raises 54000');
select throws_ok(
  format('insert into symphony.messages (kind, payload) values (%L, %L)', 'email.send',
         pg_temp.email() || jsonb_build_object('html', repeat('<p>spam</p>', 30000))),
  '54000', null, 'an email.send over 256 KiB raises 54000');

-- The limit must hold for a payload that arrives already compressed, as it does when a
-- bridge or INSERT ... SELECT copies it from another table's column.
create temp table big_payload (p jsonb);
insert into big_payload select pg_temp.email() || jsonb_build_object('html', repeat('<p>spam</p>', 30000));
select throws_ok(
  $$insert into symphony.messages (kind, payload) select 'email.send', p from big_payload$$,
  '54000', null, 'an email.send over 256 KiB copied from a table column (stored compressed) raises 54000');

select throws_ok(
  $$insert into symphony.messages (kind, payload) values ('email.send', '{"to": "ada@example.com", "from": "ops@example.com", "subject": "a\u0000b", "text": "x"}')$$,
  '22P05', null, 'a NUL (\u0000) in the payload is rejected by jsonb itself');

select throws_ok(
  format($$insert into symphony.messages (kind, payload, state, finished_at) values ('sms.send', %L, 'succeeded', now())$$, pg_temp.sms()),
  '22023', null, 'an insert with state succeeded is refused');
select throws_ok(
  format($$insert into symphony.messages (kind, payload, attempts) values ('sms.send', %L, 3)$$, pg_temp.sms()),
  '22023', null, 'an insert with attempts 3 is refused');
select throws_ok(
  format($$insert into symphony.messages (kind, payload, state, locked_by, locked_until) values ('sms.send', %L, 'processing', 'w1', now())$$, pg_temp.sms()),
  '22023', null, 'an insert that claims a lease is refused');
select throws_ok(
  format($$insert into symphony.messages (kind, payload, cancelled_by) values ('sms.send', %L, 'me')$$, pg_temp.sms()),
  '22023', null, 'an insert with cancelled_by is refused');

-- ---------------------------------------------------------------------------
-- dispatch() options.
-- ---------------------------------------------------------------------------
select throws_ok(
  format($$select symphony.dispatch('sms.send', %L, '{"delay_seconds": 5}')$$, pg_temp.sms()),
  '22023', null, 'dispatch: an unknown option is refused with 22023');
select throws_like(
  format($$select symphony.dispatch('sms.send', %L, '{"delay_seconds": 5}')$$, pg_temp.sms()),
  '%delay_seconds%', 'dispatch: the unknown-option error names the option');
select throws_ok(
  format($$select symphony.dispatch('sms.send', %L, '[]')$$, pg_temp.sms()),
  '22023', null, 'dispatch: options that are not an object are refused');
select throws_ok(
  format($$select symphony.dispatch('sms.send', %L)$$, pg_temp.sms() || '{"to": "0"}'),
  '22023', null, 'dispatch: an invalid payload is refused with 22023');

-- A message inserted by a function is not visible to the statement that called it, so each
-- id is recorded first and looked at by the next statement.
-- A queue of its own: dispatch refuses a queue nothing serves (owned_values.test.sql).
insert into symphony.queues (name, description) values ('sms_bulk', 'bulk SMS');
create temp table ids (name text primary key, id bigint);
insert into ids values
  ('delay', symphony.dispatch('sms.send', pg_temp.sms(), '{"delay": "10 minutes"}')),
  ('delay_seconds', symphony.dispatch('sms.send', pg_temp.sms(), '{"delay": 30}')),
  ('run_at', symphony.dispatch('sms.send', pg_temp.sms(), '{"run_at": "2030-01-02T03:04:05Z"}')),
  ('now', symphony.dispatch('sms.send', pg_temp.sms())),
  ('options', symphony.dispatch('sms.send', pg_temp.sms(),
     '{"priority": 7, "queue": "sms_bulk", "max_attempts": 2, "subject": "user-42", "meta": {"source": "test"}}')),
  ('send_email', symphony.send_email('ada@example.com', 'ops@example.com', 'Hi', 'Hello')),
  ('send_email_html', symphony.send_email('ada@example.com', 'ops@example.com', 'Hi', html => '<b>Hello</b>', options => '{"priority": 3}')),
  ('send_sms', symphony.send_sms('+14155550100', 'Your code is 123456')),
  ('send_sms_from', symphony.send_sms('+14155550100', 'Hi', 'Acme'));

select is((select available_at from symphony.messages join ids using (id) where name = 'delay'),
  now() + interval '10 minutes', 'dispatch: delay as an interval sets available_at');
select is((select available_at from symphony.messages join ids using (id) where name = 'delay_seconds'),
  now() + interval '30 seconds', 'dispatch: delay as a number of seconds sets available_at');
select is((select available_at from symphony.messages join ids using (id) where name = 'run_at'),
  '2030-01-02 03:04:05+00'::timestamptz, 'dispatch: run_at sets available_at');
select is((select available_at from symphony.messages join ids using (id) where name = 'now'),
  now(), 'dispatch: without delay or run_at the message is available at once');

create temp table dedupe_ids as
  select symphony.dispatch('sms.send', pg_temp.sms(), '{"dedupe_key": "pgtap-validation-welcome"}') as first_id,
         null::bigint as second_id;
update dedupe_ids set second_id = symphony.dispatch('sms.send', pg_temp.sms() || '{"body": "again"}', '{"dedupe_key": "pgtap-validation-welcome"}');
select ok((select first_id is not null and first_id = second_id from dedupe_ids), 'dispatch: a repeated dedupe_key returns the first id');
select is((select count(*)::int from symphony.messages where dedupe_key = 'pgtap-validation-welcome'), 1, 'dispatch: a repeated dedupe_key inserts nothing');
select is((select payload ->> 'body' from symphony.messages where dedupe_key = 'pgtap-validation-welcome'), 'Hello', 'dispatch: the first message is kept unchanged');

select results_eq(
  $$select priority, queue, max_attempts, subject, meta from symphony.messages join ids using (id) where name = 'options'$$,
  $$values (7::smallint, 'sms_bulk'::text, 2, 'user-42'::text, '{"source": "test"}'::jsonb)$$,
  'dispatch: priority, queue, max_attempts, subject and meta options are stored');

-- ---------------------------------------------------------------------------
-- Convenience functions.
-- ---------------------------------------------------------------------------
select results_eq(
  $$select kind, queue, state, payload from symphony.messages join ids using (id) where name = 'send_email'$$,
  $$values ('email.send'::text, 'email'::text, 'pending'::text,
            '{"to": "ada@example.com", "from": "ops@example.com", "subject": "Hi", "text": "Hello"}'::jsonb)$$,
  'send_email(to, from, subject, text) dispatches a valid email.send without null fields');
select results_eq(
  $$select payload, priority from symphony.messages join ids using (id) where name = 'send_email_html'$$,
  $$values ('{"to": "ada@example.com", "from": "ops@example.com", "subject": "Hi", "html": "<b>Hello</b>"}'::jsonb, 3::smallint)$$,
  'send_email with html only, passing options through');
select throws_ok(
  $$select symphony.send_email('ada@example.com', 'ops@example.com', 'Hi')$$,
  '22023', null, 'send_email without a body is refused with 22023');
select results_eq(
  $$select kind, queue, payload from symphony.messages join ids using (id) where name = 'send_sms'$$,
  $$values ('sms.send'::text, 'sms'::text, '{"to": "+14155550100", "body": "Your code is 123456"}'::jsonb)$$,
  'send_sms(to, body) dispatches a valid sms.send without from');
select results_eq(
  $$select payload from symphony.messages join ids using (id) where name = 'send_sms_from'$$,
  $$values ('{"to": "+14155550100", "body": "Hi", "from": "Acme"}'::jsonb)$$,
  'send_sms with a sender ID');
select throws_ok(
  $$select symphony.send_sms('555-0100', 'Hi')$$,
  '22023', null, 'send_sms to a non-E.164 number is refused with 22023');

select * from finish();
rollback;
