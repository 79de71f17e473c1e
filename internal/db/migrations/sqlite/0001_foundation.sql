-- Settings the service keeps for itself, such as the generated master secret.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- Outgoing SMS: written in the transaction that decides to send, delivered
-- afterwards with retries, so a crash between commit and send loses nothing.
CREATE TABLE sms_outbox (
	id              TEXT PRIMARY KEY,
	to_phone        TEXT NOT NULL,
	body            TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	locked_until    BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	sent_at         BIGINT,
	failed_at       BIGINT
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
