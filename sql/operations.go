package queries

// The operator's statements: views read by `symphony status`, /status, the
// dashboard and the metrics collector, and the failure and flag commands.
var (
	OpsQueueStats        = mustRead("ops_queue_stats.sql")
	OpsFailures          = mustRead("ops_failures.sql")
	OpsMessage           = mustRead("ops_message.sql")
	OpsRetryDead         = mustRead("ops_retry_dead.sql")
	OpsRetryDeadMatching = mustRead("ops_retry_dead_matching.sql")
	OpsRemoveDead        = mustRead("ops_remove_dead.sql")
	OpsWorkers           = mustRead("ops_workers.sql")
	OpsFlags             = mustRead("ops_flags.sql")
	OpsSetActor          = mustRead("ops_set_actor.sql")
	OpsRead              = mustRead("ops_read.sql")
	OpsFlagSet           = mustRead("ops_flag_set.sql")
	OpsProcessing        = mustRead("ops_processing.sql")
	OpsSendEmail         = mustRead("ops_send_email.sql")
	OpsSendSMS           = mustRead("ops_send_sms.sql")
)
