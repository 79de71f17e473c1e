-- clients becomes the home of API clients of every kind (package clients):
-- it keeps only what every kind has. What is a Connect app's own, its return
-- URLs and OTP lifetime, moves to connect_apps, one row per live app (a
-- deleted app keeps its clients row, so that its id is never reused, and
-- nothing else). WITHOUT ROWID: an app is read by its key alone, from one
-- b-tree.
CREATE TABLE connect_apps (
	client_id   TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
	return_urls TEXT NOT NULL, -- JSON array of the registered return URLs
	otp_ttl_ms  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO connect_apps (client_id, return_urls, otp_ttl_ms)
	SELECT id, return_urls, otp_ttl_ms FROM clients WHERE kind = 'app' AND deleted_at IS NULL;

-- SQLite drops a column in place (since 3.35) when nothing in the schema
-- names it, as nothing names these two: no rebuild of clients, which the
-- foreign keys of client_keys, links, link_tokens and connect_apps refer to.
ALTER TABLE clients DROP COLUMN return_urls;
ALTER TABLE clients DROP COLUMN otp_ttl_ms;
