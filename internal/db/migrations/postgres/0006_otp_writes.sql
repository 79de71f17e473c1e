-- An OTP belongs to its link: the link's key is the prefix of the OTP's, so
-- the cascade from links finds a pair's OTPs without an index of its own,
-- and deleting an account or an app still reaches them, through its links.
-- The index on user_id, which only served the former foreign key to users
-- and unlinking by account, is gone: one index fewer per OTP sent. OTPs
-- exist only while their pair is linked; any other could not satisfy the
-- new foreign key.
DELETE FROM otps o
	WHERE NOT EXISTS (SELECT 1 FROM links l WHERE l.app_id = o.app_id AND l.external_user_id = o.external_user_id);
ALTER TABLE otps
	DROP CONSTRAINT otps_app_id_fkey,
	DROP CONSTRAINT otps_user_id_fkey,
	ADD CONSTRAINT otps_link_fkey FOREIGN KEY (app_id, external_user_id)
		REFERENCES links (app_id, external_user_id) ON DELETE CASCADE;
DROP INDEX otps_user;
