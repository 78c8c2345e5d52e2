-- Kinds handled outside the sidecar (an Edge Function or a webhook).
select kind, handler, config from symphony.kinds where handler <> 'builtin' order by kind
