-- Symphony Messenger: an index under every foreign key.
--
-- Studio's Performance Advisor lists every foreign key without an index that covers
-- it (unindexed_foreign_keys): deleting or renaming the referenced row (a rate limit,
-- flag, kind or template; these references cascade on update) then scans the whole
-- referencing table. These tables are small, so it costs little either way; the
-- indexes keep the Advisor's list empty, as supabase/tests and the Supabase-shaped
-- check (sidecar/internal/supabasecheck) expect.
create index queues_rate_limit_idx on symphony.queues (rate_limit);
create index bridges_flag_idx on symphony.bridges (flag);
create index bridges_kind_idx on symphony.bridges (kind);
create index campaigns_template_idx on symphony.campaigns (template) where template is not null;
create index drip_steps_template_idx on symphony.drip_steps (template) where template is not null;
create index schedules_kind_idx on symphony.schedules (kind);
