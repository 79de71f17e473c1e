-- An inbox message has a source, who sent it — an app today, a rental or a
-- supplier next — of a kind, an id and a name, and a type from an open set
-- (otp and notification today, sms next) that the code writing it checks,
-- so that a new surface needs no migration to deliver. app_id and app_name
-- become source_id and source_name; the messages so far are apps'.
--
-- SQLite cannot drop the CHECK on type in place, so the table is rebuilt.
-- Its rows keep their rowids: they number the messages, in each user's
-- order, and public message ids are those numbers enciphered. Nothing refers
-- to the table (otps.message_id holds the number, without a foreign key).
CREATE TABLE inbox_messages_new (
	id             INTEGER PRIMARY KEY,
	user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	source_kind    TEXT NOT NULL,
	source_id      TEXT NOT NULL,
	source_name    TEXT NOT NULL,
	type           TEXT NOT NULL,
	message        TEXT NOT NULL,
	code_sealed    TEXT,
	reference      TEXT,
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT,
	read_at        BIGINT,
	code_erased_at BIGINT
);
INSERT INTO inbox_messages_new (id, user_id, source_kind, source_id, source_name, type, message,
		code_sealed, reference, created_at, expires_at, read_at, code_erased_at)
	SELECT id, user_id, 'app', app_id, app_name, type, message,
		code_sealed, reference, created_at, expires_at, read_at, code_erased_at
	FROM inbox_messages;
DROP TABLE inbox_messages;
ALTER TABLE inbox_messages_new RENAME TO inbox_messages;
-- Listing (newest first) and streaming (id > N) of one user's messages.
CREATE INDEX inbox_messages_user ON inbox_messages (user_id);
