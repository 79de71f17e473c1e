-- clients becomes the home of API clients of every kind (package clients):
-- it keeps only what every kind has. What is a Connect app's own, its return
-- URLs and OTP lifetime, moves to connect_apps, one row per live app (a
-- deleted app keeps its clients row, so that its id is never reused, and
-- nothing else).
CREATE TABLE connect_apps (
	client_id   TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
	return_urls TEXT NOT NULL, -- JSON array of the registered return URLs
	otp_ttl_ms  BIGINT NOT NULL
);
INSERT INTO connect_apps (client_id, return_urls, otp_ttl_ms)
	SELECT id, return_urls, otp_ttl_ms FROM clients WHERE kind = 'app' AND deleted_at IS NULL;

ALTER TABLE clients DROP COLUMN return_urls;
ALTER TABLE clients DROP COLUMN otp_ttl_ms;
