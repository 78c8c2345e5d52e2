-- The start of a dashboard page's read (ops.Store.Read): the rest of this
-- transaction only reads, and compiles nothing with JIT. Its statements take
-- milliseconds; a high estimate (a partial index whose statistics still count
-- a backlog since drained) put one over jit_above_cost, and compiling cost
-- 0.15-0.3 s a request. Both settings end with the transaction.
select set_config('transaction_read_only', 'on', true), set_config('jit', 'off', true)
