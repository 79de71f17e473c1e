-- Credentials issued before this instant (Unix ms) are refused: access
-- tokens by their iat, page sessions by their creation. Blocking,
-- suspending and a password reset move it to now.
ALTER TABLE users ADD COLUMN sessions_valid_after BIGINT NOT NULL DEFAULT 0;

-- A refresh token's successor, sealed, kept while the rotation's grace
-- lasts: a second refresh with the same token in that time (two tabs, a
-- network retry) gets the same successor instead of revoking the family.
ALTER TABLE refresh_tokens ADD COLUMN successor TEXT;

-- The SMS quota is kept per purpose, so that asking for a stranger's
-- password reset cannot spend the quota of their sign-up code. Its key is
-- "<purpose>:<phone>": one text key, as the sweep walks it.
CREATE TABLE sms_quota_by_purpose (
	quota_key    TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	sent         INTEGER NOT NULL,
	last_sent_at BIGINT NOT NULL
);
INSERT INTO sms_quota_by_purpose (quota_key, window_start, sent, last_sent_at)
	SELECT 'verify:' || phone, window_start, sent, last_sent_at FROM sms_quota;
DROP TABLE sms_quota;
ALTER TABLE sms_quota_by_purpose RENAME TO sms_quota;
