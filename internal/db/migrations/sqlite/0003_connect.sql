-- API clients. Connect apps have kind 'app'; the device-links suppliers will
-- share the table with kind 'supplier'. A deleted client keeps its row (so its
-- id is never reused) with deleted_at set, and loses its keys and links.
CREATE TABLE clients (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	name        TEXT NOT NULL,
	return_urls TEXT NOT NULL, -- JSON array of the registered return URLs
	otp_ttl_ms  BIGINT NOT NULL,
	created_at  BIGINT NOT NULL,
	deleted_at  BIGINT
);

-- API keys, stored as keyed hashes. A rotated key gets an expires_at 24 hours
-- ahead; the current key has none.
CREATE TABLE client_keys (
	key_hash   TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT
);
CREATE INDEX client_keys_client ON client_keys (client_id);

-- A link joins an app's own user id to a Linkbox account. Here and in otps,
-- WITHOUT ROWID makes the primary key the table itself: the hot paths look
-- up and write rows by key, and touch one b-tree instead of two.
CREATE TABLE links (
	app_id           TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	external_user_id TEXT NOT NULL,
	user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at       BIGINT NOT NULL,
	PRIMARY KEY (app_id, external_user_id)
) WITHOUT ROWID;
CREATE INDEX links_user ON links (user_id);

-- Single-use tokens of the hosted linking page. The token is also kept sealed
-- so that asking again while one is pending hands out the same URL.
CREATE TABLE link_tokens (
	token_hash       TEXT PRIMARY KEY,
	token_sealed     TEXT NOT NULL,
	app_id           TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	external_user_id TEXT NOT NULL,
	return_url       TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	used_at          BIGINT
);
CREATE INDEX link_tokens_pair ON link_tokens (app_id, external_user_id);

-- One live OTP per (app, app user, reference); only its keyed hash is kept.
-- message_id is the inbox message that shows the code.
CREATE TABLE otps (
	app_id           TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	external_user_id TEXT NOT NULL,
	reference        TEXT NOT NULL,
	user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash        TEXT NOT NULL,
	message_id       TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	PRIMARY KEY (app_id, external_user_id, reference)
) WITHOUT ROWID;
CREATE INDEX otps_user ON otps (user_id);
