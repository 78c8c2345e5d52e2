-- Name the operator for this transaction's audit rows (symphony.actor()).
select set_config('symphony.actor', $1, true)
