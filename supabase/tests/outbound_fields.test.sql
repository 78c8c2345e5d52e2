-- What email.send may carry to a provider (docs/providers.md, "Addresses and fields"):
-- addresses in the forms every provider reads the same way, Resend's tag charset, no
-- header a provider reserves, one-line subjects, Storage paths without percent-escapes.
-- Each refusal is SQLSTATE 22023 naming the field, at insert, before anything is sent.
begin;
create extension if not exists pgtap;
select plan(99);

-- email(changes) is a valid payload with changes merged in.
create function pg_temp.email(changes jsonb default '{}') returns jsonb language sql immutable as $$
  select '{"to": "ada@example.com", "from": "ops@example.com", "subject": "Hi", "text": "Hello"}'::jsonb || changes
$$;

-- rejects: the insert fails with SQLSTATE 22023 and the message names field.
create function pg_temp.rejects(payload jsonb, field text, description text)
returns setof text language plpgsql as $$
declare
  stmt text := format('insert into symphony.messages (kind, payload) values (%L, %L::jsonb)', 'email.send', payload);
begin
  return next throws_ok(stmt, '22023', null, description || ': SQLSTATE 22023');
  return next throws_like(stmt, '%' || field || '%', description || ': message names ' || field);
end $$;

create function pg_temp.accepts(payload jsonb, description text)
returns setof text language plpgsql as $$
begin
  return next lives_ok(format('insert into symphony.messages (kind, payload) values (%L, %L::jsonb)', 'email.send', payload),
    description);
end $$;

-- ---------------------------------------------------------------------------
-- Addresses: a bare address, or a display name (plain words, or quoted) and <address>.
-- ---------------------------------------------------------------------------
select pg_temp.rejects(pg_temp.email('{"to": "Doe, John <john@example.com>"}'), '"to"',
  'an unquoted comma in a display name (Postmark would read two recipients)');
select pg_temp.rejects(pg_temp.email('{"to": ["victim@x.test, spam@y.test <ok@z.test>"]}'), '"to"',
  'addresses in an unquoted display name');
select pg_temp.rejects(pg_temp.email('{"cc": "a@b.test <ok@z.test>"}'), '"cc"', 'an unquoted @ in a display name');
select pg_temp.rejects(pg_temp.email('{"from": "Doe, John <john@example.com>"}'), '"from"',
  'an unquoted comma in the sender''s display name');
select pg_temp.rejects(pg_temp.email('{"reply_to": "Doe; John <john@example.com>"}'), '"reply_to"', 'a semicolon');
select pg_temp.rejects(pg_temp.email('{"to": "Doe: John <john@example.com>"}'), '"to"', 'a colon (group syntax)');
select pg_temp.rejects(pg_temp.email('{"to": "Doe (John) <john@example.com>"}'), '"to"', 'a comment');
select pg_temp.rejects(pg_temp.email('{"to": "Doe [John] <john@example.com>"}'), '"to"', 'brackets');
select pg_temp.rejects(pg_temp.email('{"to": "\"Doe <john@example.com>"}'), '"to"', 'an unclosed quote');
select pg_temp.rejects(pg_temp.email('{"to": "\"Doe\\\" x\" <john@example.com>"}'), '"to"', 'a backslash in a quoted name');
select pg_temp.rejects(pg_temp.email('{"to": "\"<x@y.test>\" <john@example.com>"}'), '"to"', 'angle brackets in a quoted name');
select pg_temp.rejects(pg_temp.email('{"to": "Doe\u2028John <john@example.com>"}'), '"to"', 'a line separator in a display name');
select pg_temp.rejects(pg_temp.email('{"to": ".john@example.com"}'), '"to"', 'a local part that starts with a dot');
select pg_temp.rejects(pg_temp.email('{"to": "jo..hn@example.com"}'), '"to"', 'two dots in a row in the local part');
select pg_temp.rejects(pg_temp.email('{"to": "Ada <ada@example.com>\r\n"}'), '"to"', 'CR LF after the closing >');
select pg_temp.rejects(pg_temp.email('{"from": "Ops <ops@example.com>\n"}'), '"from"', 'LF after the sender''s closing >');
select pg_temp.rejects(pg_temp.email('{"bcc": "Ada <ada@example.com>\f"}'), '"bcc"', 'a form feed after the closing >');

select pg_temp.accepts(pg_temp.email('{"to": "\"Doe, John\" <john@example.com>"}'), 'a quoted display name may hold a comma');
select pg_temp.accepts(pg_temp.email('{"to": "\"victim@x.test, spam@y.test\" <ok@z.test>"}'),
  'and an @: quoted, it is a name, and is sent quoted');
select pg_temp.accepts(pg_temp.email('{"to": ["John Q. Public <john@example.com>", "O''Brien <ob@example.com>", "Zoë Ünïcode 👋 <z@example.com>"]}'),
  'plain words with dots, apostrophes and letters of any script');
select pg_temp.accepts(pg_temp.email('{"to": " <john@example.com> ", "from": "Ops Team <ops@example.com>\t"}'),
  'spaces and tabs around a mailbox');

select is(symphony.email_address('"Doe, John" <John@Example.com>'), 'John@Example.com', 'the address of a quoted mailbox');
select is(symphony.email_address('victim@x.test, spam@y.test <ok@z.test>'), null, 'an unquoted address list is no address');
select is(symphony.normalize_address('email', 'victim@x.test, spam@y.test <ok@z.test>'), null,
  'and nothing a suppression could be checked against');
select is(symphony.normalize_address('email', ' "Lovelace, Ada" <Ada@Example.COM> '), 'ada@example.com',
  'a quoted mailbox is suppressed by its bare address');

-- ---------------------------------------------------------------------------
-- Tags: names and values in Resend's charset, at most 256 characters.
-- ---------------------------------------------------------------------------
select pg_temp.rejects(pg_temp.email('{"tags": {"campaign": "spring sale"}}'), '"tags.campaign"', 'a space in a tag value');
select pg_temp.rejects(pg_temp.email('{"tags": {"campaign": "café"}}'), '"tags.campaign"', 'a non-ASCII tag value');
select pg_temp.rejects(pg_temp.email('{"tags": {"campaign": "a.b"}}'), '"tags.campaign"', 'a dot in a tag value');
select pg_temp.rejects(pg_temp.email(jsonb_build_object('tags', jsonb_build_object('campaign', repeat('x', 257)))),
  '"tags.campaign"', 'a tag value over 256 characters');
select pg_temp.accepts(pg_temp.email(jsonb_build_object('tags', jsonb_build_object('campaign', 'Spring_2026-' || repeat('x', 244)))),
  'a tag value of letters, digits, _ and -, 256 characters');

-- ---------------------------------------------------------------------------
-- Headers that a provider reserves, or that the payload's own fields set.
-- ---------------------------------------------------------------------------
select pg_temp.rejects(pg_temp.email(jsonb_build_object('headers', jsonb_build_object(h, 'x'))), '"headers.' || h || '"',
  'header ' || h || ' is reserved')
  from unnest(array['Reply-To', 'reply-to', 'To', 'From', 'Subject', 'CC', 'BCC', 'Bcc', 'Content-Type',
                    'Content-Transfer-Encoding', 'DKIM-Signature', 'x-sg-id', 'X-SG-EID', 'Received']) as h;
select pg_temp.accepts(pg_temp.email('{"headers": {"X-Entity-Ref-ID": "42", "List-Unsubscribe": "<https://example.com/u>"}}'),
  'custom headers are accepted');

-- ---------------------------------------------------------------------------
-- Subjects are one line: no CR, LF, NEL, or Unicode line or paragraph separator.
-- ---------------------------------------------------------------------------
select pg_temp.rejects(pg_temp.email(jsonb_build_object('subject', 'Hi' || chr(8232) || 'Bcc: x@y.test')), '"subject"', 'U+2028 in a subject');
select pg_temp.rejects(pg_temp.email(jsonb_build_object('subject', 'Hi' || chr(133) || 'there')), '"subject"', 'U+0085 in a subject');
select pg_temp.rejects(pg_temp.email(jsonb_build_object('subject', 'Hi' || chr(8233))), '"subject"', 'U+2029 in a subject');
select pg_temp.rejects(pg_temp.email(jsonb_build_object('subject', 'Hi' || chr(8232), 'cc', 'c@example.com')), '"subject"',
  'U+2028 in a subject, off the fast path');

-- ---------------------------------------------------------------------------
-- Storage paths: no percent-escapes (Storage decodes them; its keys cannot hold %).
-- ---------------------------------------------------------------------------
create function pg_temp.stored(path text) returns jsonb language sql immutable as $$
  select pg_temp.email(jsonb_build_object('attachments',
    jsonb_build_array(jsonb_build_object('filename', 'f.pdf', 'storage', jsonb_build_object('bucket', 'b', 'path', path)))))
$$;
select pg_temp.rejects(pg_temp.stored(p), '"attachments[0].storage.path"', 'storage path ' || p)
  from unnest(array['a/%2e%2e/secret', '%2E%2E/secret', '.%2e/secret', 'a%2f..%2fsecret', 'invoice%20march.pdf']) as p;
select pg_temp.accepts(pg_temp.stored('2026/03/invoice (march).pdf'), 'a path of the characters Storage allows');

select * from finish();
rollback;
