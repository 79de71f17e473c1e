-- The Numbers API's upstream SMS-Activate provider (package numbers), and
-- the claim token of an Idempotency-Key (package idempotency).

-- A number bought upstream gets a row of the pool of its own (source
-- 'smsactivate', no services: never rented locally, never counted), so
-- that its rentals are rentals like any other.
ALTER TABLE numbers_pool ADD COLUMN source TEXT NOT NULL DEFAULT 'pool';

-- The upstream's prices as last fetched: cost_micros is what Linkbox
-- charges (the upstream's cost times the markup), count the upstream's.
CREATE TABLE numbers_upstream_prices (
	service              TEXT NOT NULL,
	country              TEXT NOT NULL,
	upstream_cost_micros BIGINT NOT NULL,
	cost_micros          BIGINT NOT NULL,
	count                BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL,
	PRIMARY KEY (service, country)
);

-- One row per activation bought upstream. action is what is owed to the
-- upstream next: 'poll' (getStatus, while the rental lives), 'cancel'
-- (setStatus 8), 'finish' (setStatus 6), 'done'. rental_id is NULL for an
-- activation bought for a rent that then failed (it is cancelled).
-- last_code is the last code stored, attempts the calls since the last
-- change (the backoff), next_at when to call next.
CREATE TABLE numbers_upstream (
	activation_id TEXT PRIMARY KEY,
	rental_id     TEXT REFERENCES numbers_rentals (id) ON DELETE CASCADE,
	action        TEXT NOT NULL,
	last_code     TEXT NOT NULL,
	attempts      INTEGER NOT NULL,
	next_at       BIGINT NOT NULL,
	created_at    BIGINT NOT NULL
);
CREATE INDEX numbers_upstream_due ON numbers_upstream (action, next_at);
CREATE INDEX numbers_upstream_rental ON numbers_upstream (rental_id);

-- The claim of a first try, so that only the try holding it stores its
-- answer (inside its own transaction, for a rent).
ALTER TABLE idempotency_keys ADD COLUMN claim TEXT NOT NULL DEFAULT '';
