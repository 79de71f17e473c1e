-- An OTP belongs to its link: the link's key is the prefix of the OTP's, so
-- the cascade from links finds a pair's OTPs without an index of its own,
-- and deleting an account or an app still reaches them, through its links.
-- The index on user_id, which only served the former foreign key to users
-- and unlinking by account, is gone: one b-tree fewer per OTP sent.
--
-- SQLite cannot change a table's foreign keys in place: the table is rebuilt
-- (create, copy, drop, rename). No foreign key refers to otps, so dropping
-- it deletes nothing elsewhere, foreign keys being on. OTPs exist only while
-- their pair is linked; the copy keeps only those, as the new foreign key
-- requires.
CREATE TABLE otps_new (
	app_id           TEXT NOT NULL,
	external_user_id TEXT NOT NULL,
	reference        TEXT NOT NULL,
	user_id          TEXT NOT NULL,
	code_hash        TEXT NOT NULL,
	message_id       TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	PRIMARY KEY (app_id, external_user_id, reference),
	FOREIGN KEY (app_id, external_user_id) REFERENCES links (app_id, external_user_id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO otps_new
	SELECT o.app_id, o.external_user_id, o.reference, o.user_id, o.code_hash, o.message_id,
		o.attempts, o.created_at, o.expires_at
	FROM otps o
	WHERE EXISTS (SELECT 1 FROM links l WHERE l.app_id = o.app_id AND l.external_user_id = o.external_user_id);
DROP TABLE otps;
ALTER TABLE otps_new RENAME TO otps;
