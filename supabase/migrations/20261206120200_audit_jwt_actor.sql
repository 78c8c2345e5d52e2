-- Symphony Messenger: audit rows name the API caller, and every view runs as its caller.
--
-- Through the Data API every request logs in as authenticator, so session_user says
-- nothing: a flag flipped with the service-role key was recorded as 'authenticator'.
-- PostgREST puts the request's JWT claims in request.jwt.claims; symphony.actor() now
-- records the JWT's role and subject from there ('service_role',
-- 'authenticated:<user id>', with the email after it when the token has one). An
-- explicit `set symphony.actor` (the CLI, the dashboard) still comes first.

create or replace function symphony.actor() returns text
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

-- The one view that ran with its owner's rights. Its readers (service_role) may read
-- both tables it reads anyway; with security_invoker it is like every other view and
-- the Security Advisor's security_definer_view never applies to it.
alter view symphony.migration_compare set (security_invoker = true);
