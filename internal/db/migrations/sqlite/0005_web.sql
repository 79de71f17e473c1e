-- Cookie sessions of the hosted pages. Only the keyed hash of the cookie's
-- token is stored; a session lives 7 days from sign-in, not renewed on use,
-- so that a stolen cookie is worth a bounded time.
CREATE TABLE web_sessions (
	id_hash    TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
-- For the cascade from users and the sweep of a user's expired sessions at
-- each sign-in.
CREATE INDEX web_sessions_user ON web_sessions (user_id);
