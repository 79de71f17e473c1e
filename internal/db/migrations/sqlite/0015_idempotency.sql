-- Idempotency-Key (package idempotency): one row per (scope, key), scope
-- being who sent it (an account). status is 0 while the first request is in
-- flight, then its answer's status, with its body; a request with the same
-- key and another body (body_hash) is refused. Rows older than a day are
-- swept.
CREATE TABLE idempotency_keys (
	scope      TEXT NOT NULL,
	idem_key   TEXT NOT NULL,
	body_hash  TEXT NOT NULL,
	status     INTEGER NOT NULL,
	response   TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
