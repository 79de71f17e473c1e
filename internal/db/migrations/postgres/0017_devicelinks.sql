-- Device links (package devicelinks): energy suppliers and device
-- manufacturers are API clients of kinds 'supplier' and 'manufacturer'
-- (package clients); these tables keep what is their own, keyed by
-- client_id. Secrets (a supplier's webhook secret, a manufacturer's OAuth
-- client secret, a mapping's tokens, a state's PKCE verifier) are sealed
-- with AES-256-GCM under the master secret (package secrets).
CREATE TABLE devicelinks_suppliers (
	client_id      TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
	redirect_uris  TEXT NOT NULL, -- JSON array, matched exactly
	webhook_url    TEXT,
	webhook_secret TEXT,          -- sealed "whsec_…"
	login_url      TEXT
);

CREATE TABLE devicelinks_manufacturers (
	client_id     TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
	brand         TEXT NOT NULL UNIQUE, -- the --id of manufacturers add, in redirects as manufacturer
	authorize_url TEXT NOT NULL,
	token_url     TEXT NOT NULL,
	devices_url   TEXT NOT NULL,        -- "" when the OAuth subject is the device
	settings_url  TEXT NOT NULL,
	oauth_client  TEXT NOT NULL,
	oauth_secret  TEXT NOT NULL,        -- sealed
	scopes        TEXT NOT NULL,        -- space separated
	logo_url      TEXT NOT NULL
);

-- A link session a supplier started (POST /users/{id}/link); the token is
-- kept as its keyed hash. It lives 15 minutes.
CREATE TABLE devicelinks_sessions (
	token_hash       TEXT PRIMARY KEY,
	supplier_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	supplier_user_id TEXT NOT NULL,
	redirect_uri     TEXT NOT NULL,
	language         TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL
);
CREATE INDEX devicelinks_sessions_expires ON devicelinks_sessions (expires_at);

-- An OAuth state: single use, bound to the browser that chose the brand
-- (the keyed hash of its cookie), with its sealed PKCE verifier. After the
-- code exchange, a picker keeps the sealed token and the devices here until
-- one is chosen.
CREATE TABLE devicelinks_states (
	state_hash      TEXT PRIMARY KEY,
	session_hash    TEXT NOT NULL REFERENCES devicelinks_sessions (token_hash) ON DELETE CASCADE,
	manufacturer_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	browser_hash    TEXT NOT NULL,
	verifier        TEXT NOT NULL,
	token           TEXT,
	devices         TEXT,
	used_at         BIGINT,
	expires_at      BIGINT NOT NULL
);
CREATE INDEX devicelinks_states_session ON devicelinks_states (session_hash);

-- A supplier user's mapping to a nox user and the devices of one
-- manufacturer. Relinking the same supplier_user_id overwrites the devices
-- and keeps nox_user_id.
CREATE TABLE devicelinks_mappings (
	supplier_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	supplier_user_id TEXT NOT NULL,
	nox_user_id      TEXT NOT NULL UNIQUE,
	manufacturer_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	devices          TEXT NOT NULL, -- JSON array of {id, name, type}
	access_token     TEXT NOT NULL, -- sealed
	refresh_token    TEXT NOT NULL, -- sealed, "" for none
	token_expiry     BIGINT NOT NULL,
	connected_at     BIGINT NOT NULL,
	PRIMARY KEY (supplier_id, supplier_user_id)
);

-- The events sent to a supplier as webhooks, kept for GET /events.
CREATE TABLE devicelinks_events (
	id          TEXT PRIMARY KEY,
	supplier_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	created_at  BIGINT NOT NULL,
	body        TEXT NOT NULL
);
CREATE INDEX devicelinks_events_supplier ON devicelinks_events (supplier_id, created_at);

-- A supplier user's preferences (the seed's comfort bounds), with an ETag.
CREATE TABLE devicelinks_settings (
	supplier_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
	supplier_user_id TEXT NOT NULL,
	body             TEXT NOT NULL,
	etag             TEXT NOT NULL,
	updated_at       BIGINT NOT NULL,
	PRIMARY KEY (supplier_id, supplier_user_id)
);
