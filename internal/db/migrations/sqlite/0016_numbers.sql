-- The Numbers API (package numbers). Money is integer micro-units (1e-6 of
-- the currency); credits are integers.

-- The catalog: a price per (service, country, operator).
CREATE TABLE numbers_prices (
	service          TEXT NOT NULL,
	country          TEXT NOT NULL,
	operator         TEXT NOT NULL,
	cost_micros      BIGINT NOT NULL,
	rent_hour_micros BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	PRIMARY KEY (service, country, operator)
);

-- SMS Gateway for Android devices; the HMAC secret is sealed.
CREATE TABLE numbers_gateways (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	secret_sealed TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);

-- The pool. services is ",s1,s2," (matched with LIKE '%,s,%'); rental_id is
-- the live rental holding the number, NULL when free. (gateway_id, sim)
-- says which number a gateway's SMS arrived on.
CREATE TABLE numbers_pool (
	id         TEXT PRIMARY KEY,
	number     TEXT NOT NULL UNIQUE,
	country    TEXT NOT NULL,
	operator   TEXT NOT NULL,
	services   TEXT NOT NULL,
	gateway_id TEXT REFERENCES numbers_gateways (id) ON DELETE SET NULL,
	sim        INTEGER,
	rental_id  TEXT,
	created_at BIGINT NOT NULL,
	UNIQUE (gateway_id, sim)
);
CREATE INDEX numbers_pool_free ON numbers_pool (country, operator, rental_id);

-- A number reported as refused by a service is not offered for it again.
CREATE TABLE numbers_blocked (
	number_id  TEXT NOT NULL REFERENCES numbers_pool (id) ON DELETE CASCADE,
	service    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (number_id, service)
);

-- An account's numbers state; credits is the balance, kept beside the
-- ledger in the same transaction as every entry.
CREATE TABLE numbers_accounts (
	user_id           TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	approved          INTEGER NOT NULL,
	credits           BIGINT NOT NULL,
	free_credits_used BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL
);

-- The append-only credit ledger: credits signed, balance_after the
-- account's credits once applied, seq the entry's number within the account
-- (1, 2, …, taken while the account's row is locked by the same update).
CREATE TABLE numbers_ledger (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	seq           BIGINT NOT NULL,
	type          TEXT NOT NULL,
	credits       BIGINT NOT NULL,
	balance_after BIGINT NOT NULL,
	rental_id     TEXT,
	reason        TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX numbers_ledger_user ON numbers_ledger (user_id, seq);

-- Rentals: waiting, received, finished, cancelled, expired. refunded is set
-- once, by the transition that refunds.
CREATE TABLE numbers_rentals (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	number_id     TEXT NOT NULL REFERENCES numbers_pool (id) ON DELETE CASCADE,
	number        TEXT NOT NULL,
	service       TEXT NOT NULL,
	country       TEXT NOT NULL,
	operator      TEXT NOT NULL,
	cost_credits  BIGINT NOT NULL,
	status        TEXT NOT NULL,
	refunded      INTEGER NOT NULL,
	created_at    BIGINT NOT NULL,
	cancelable_at BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	ended_at      BIGINT
);
CREATE INDEX numbers_rentals_user ON numbers_rentals (user_id, created_at);
CREATE INDEX numbers_rentals_expiry ON numbers_rentals (status, expires_at);
CREATE INDEX numbers_rentals_cooldown ON numbers_rentals (number_id, service, created_at);

-- The SMS a rental received, with the code extracted from it.
CREATE TABLE numbers_sms (
	id          TEXT PRIMARY KEY,
	rental_id   TEXT NOT NULL REFERENCES numbers_rentals (id) ON DELETE CASCADE,
	sender      TEXT NOT NULL,
	text        TEXT NOT NULL,
	code        TEXT NOT NULL,
	received_at BIGINT NOT NULL
);
CREATE INDEX numbers_sms_rental ON numbers_sms (rental_id, received_at);

-- Gateway webhook events seen, so that a retried event is stored once.
CREATE TABLE numbers_events (
	gateway_id  TEXT NOT NULL,
	event_id    TEXT NOT NULL,
	received_at BIGINT NOT NULL,
	PRIMARY KEY (gateway_id, event_id)
);
