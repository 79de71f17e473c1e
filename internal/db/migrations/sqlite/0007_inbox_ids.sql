-- Inbox messages are numbered by their rowid instead of a random text id and
-- a per-user sequence. Each message sent cost three b-trees (the rows, the
-- random id index and the (user_id, seq) index) and the user's row, which
-- held the sequence; now it costs the rows, appended at the end, and the
-- (user_id) index, whose entries end with the rowid. SQLite has one writer
-- at a time, so rowid order is commit order: a stream resuming after message
-- N misses nothing. The public id is the rowid enciphered (internal/inbox).
--
-- Without AUTOINCREMENT a rowid is one past the largest in the table, so it
-- can only come back if the newest messages are deleted, which happens only
-- with their account.
--
-- Old messages are renumbered in (user_id, seq) order, which keeps each
-- user's order; otps follow through the mapping.
CREATE TABLE inbox_renumbered AS
	SELECT id AS old_id, ROW_NUMBER() OVER (ORDER BY user_id, seq) AS new_id FROM inbox_messages;

CREATE TABLE inbox_messages_new (
	id          INTEGER PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	app_id      TEXT NOT NULL,
	app_name    TEXT NOT NULL,
	type        TEXT NOT NULL CHECK (type IN ('otp', 'notification')),
	message     TEXT NOT NULL,
	code_sealed TEXT,
	reference   TEXT,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT,
	read_at     BIGINT
);
INSERT INTO inbox_messages_new
	SELECT r.new_id, m.user_id, m.app_id, m.app_name, m.type, m.message, m.code_sealed, m.reference,
		m.created_at, m.expires_at, m.read_at
	FROM inbox_messages m JOIN inbox_renumbered r ON r.old_id = m.id;
DROP TABLE inbox_messages;
ALTER TABLE inbox_messages_new RENAME TO inbox_messages;
-- Listing (newest first) and streaming (id > N) of one user's messages.
CREATE INDEX inbox_messages_user ON inbox_messages (user_id);

CREATE TABLE otps_new (
	app_id           TEXT NOT NULL,
	external_user_id TEXT NOT NULL,
	reference        TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	code_hash        TEXT NOT NULL,
	message_id       INTEGER NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	PRIMARY KEY (app_id, external_user_id, reference),
	FOREIGN KEY (app_id, external_user_id) REFERENCES links (app_id, external_user_id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO otps_new
	SELECT o.app_id, o.external_user_id, o.reference, o.user_id, o.code_hash, r.new_id,
		o.attempts, o.created_at, o.expires_at
	FROM otps o JOIN inbox_renumbered r ON r.old_id = o.message_id;
DROP TABLE otps;
ALTER TABLE otps_new RENAME TO otps;

DROP TABLE inbox_renumbered;
ALTER TABLE users DROP COLUMN inbox_seq;
