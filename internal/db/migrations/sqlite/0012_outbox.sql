-- One durable outbox for everything that must reach the outside (SMS,
-- signed webhooks): a row is written in the transaction that decides to
-- send, then delivered by the deliverer registered for its kind, with
-- retries. A row is claimed by one process at a time (leased_until); a
-- process that dies mid-attempt loses its lease and another claims the row
-- again. delivered_at or given_up_at ends a row; a given-up row keeps its
-- payload (unless its kind erases it) so that it can be replayed.
CREATE TABLE outbox (
	id              TEXT PRIMARY KEY,
	kind            TEXT NOT NULL,
	payload         TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	leased_until    BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	delivered_at    BIGINT,
	given_up_at     BIGINT
);
CREATE INDEX outbox_due ON outbox (kind, next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;

-- sms_outbox's rows become rows of kind 'sms', their ids (the webhook-id a
-- gateway saw) kept; a finished row's body was erased, and its payload
-- keeps only the recipient, as the sms kind erases it.
INSERT INTO outbox (id, kind, payload, attempts, next_attempt_at, leased_until, last_error, created_at, delivered_at, given_up_at)
SELECT id, 'sms',
	CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN json_object('to', to_phone, 'body', body)
	     ELSE json_object('to', to_phone) END,
	attempts, next_attempt_at, locked_until, last_error, created_at, sent_at, failed_at
FROM sms_outbox;

DROP TABLE sms_outbox;
