-- The last inbox sequence number given to each user. A writer takes the next
-- one with UPDATE … RETURNING inside its transaction: the row lock serializes
-- one user's writers, so commit order is seq order and a stream resuming
-- after seq N misses nothing.
ALTER TABLE users ADD COLUMN inbox_seq BIGINT NOT NULL DEFAULT 0;

-- Codes and notifications delivered to a user's inbox. app_name is copied so
-- that the inbox needs no other table; code_sealed holds the OTP code sealed
-- with the "inbox-code" key, set to NULL once the OTP dies.
CREATE TABLE inbox_messages (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	seq         BIGINT NOT NULL,
	app_id      TEXT NOT NULL,
	app_name    TEXT NOT NULL,
	type        TEXT NOT NULL CHECK (type IN ('otp', 'notification')),
	message     TEXT NOT NULL,
	code_sealed TEXT,
	reference   TEXT,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT,
	read_at     BIGINT,
	-- Also the index behind listing (newest first) and streaming (seq > N).
	UNIQUE (user_id, seq)
);
