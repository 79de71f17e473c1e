-- Device links, after 0017: the events of a supplier numbered in commit
-- order (GET /events?since=), and section 2 of the seed, where a
-- manufacturer starts the link (device sessions) and the user picks a
-- supplier (select states).

-- A supplier's events get 1, 2, 3… from its counter, taken in the
-- transaction that writes the event: the counter's row lock orders the
-- supplier's events as they commit, so a reader paging by seq misses none.
ALTER TABLE devicelinks_suppliers ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devicelinks_events ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
DROP INDEX devicelinks_events_supplier;
CREATE UNIQUE INDEX devicelinks_events_seq ON devicelinks_events (supplier_id, seq);

-- A session a manufacturer started for one of its users' devices (POST
-- /device-sessions); the token is kept as its keyed hash. It lives 15
-- minutes.
CREATE TABLE devicelinks_device_sessions (
	token_hash      TEXT PRIMARY KEY,
	manufacturer_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL,
	redirect_uri    TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL
);

-- The state of a supplier chosen on /suppliers/select: single use, bound to
-- the browser that chose, confirmed by the supplier's POST
-- /post-login-redirect (supplier_user_id), spent by the browser's GET.
CREATE TABLE devicelinks_select_states (
	state_hash       TEXT PRIMARY KEY,
	session_hash     TEXT NOT NULL REFERENCES devicelinks_device_sessions (token_hash) ON DELETE CASCADE,
	supplier_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	browser_hash     TEXT NOT NULL,
	supplier_user_id TEXT,
	used_at          BIGINT,
	expires_at       BIGINT NOT NULL
);
CREATE INDEX devicelinks_select_states_session ON devicelinks_select_states (session_hash);
