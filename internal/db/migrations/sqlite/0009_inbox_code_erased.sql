-- When a message's code was erased (its OTP used, replaced or killed), so
-- that a client resuming its stream is told of the codes that died while it
-- was away.
ALTER TABLE inbox_messages ADD COLUMN code_erased_at BIGINT;
