CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	phone         TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	email         TEXT NOT NULL,
	username      TEXT UNIQUE,
	role          TEXT NOT NULL,
	status        TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	verified_at   BIGINT,
	updated_at    BIGINT NOT NULL
);

-- One live code per user and purpose ("verify", "reset"); only its keyed
-- hash is stored.
CREATE TABLE verification_codes (
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    TEXT NOT NULL,
	code_hash  TEXT NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	sent_at    BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, purpose)
);

-- Refresh tokens rotate on use; all tokens descended from one login share a
-- family, revoked whole when a rotated token is presented again.
CREATE TABLE refresh_tokens (
	id         TEXT PRIMARY KEY,
	family_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT,
	revoked_at BIGINT
);
-- One index, since each is one more B-tree written per refresh: it finds a
-- user's tokens (revoking all, or a family among them) and their expired ones
-- (swept at login).
CREATE INDEX refresh_tokens_user_expiry ON refresh_tokens (user_id, expires_at);

-- Keys that sign access tokens. The private half is sealed with the master
-- secret; retired keys keep verifying until their last token expires.
CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	alg         TEXT NOT NULL,
	private_key TEXT NOT NULL,
	public_key  TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	retired_at  BIGINT
);
-- At most one key per algorithm signs at a time; the index also settles the
-- race of two instances creating the first key at once.
CREATE UNIQUE INDEX signing_keys_active ON signing_keys (alg) WHERE retired_at IS NULL;

-- SMS sent to a phone, whatever the purpose: the cooldown between two and the
-- cap per hour-long window. Kept in the store, not the rate limiter, so every
-- instance shares them and LINKBOX_RATE_LIMITS=off leaves them in place.
CREATE TABLE sms_quota (
	phone        TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	sent         INTEGER NOT NULL,
	last_sent_at BIGINT NOT NULL
);
