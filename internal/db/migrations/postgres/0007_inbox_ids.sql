-- Inbox messages are numbered by an identity column instead of a random text
-- id and a per-user sequence kept on the user's row: each message sent
-- writes the rows, appended at the end, and the (user_id, id) index, instead
-- of a random id index, the (user_id, seq) index and a new version of the
-- user's row. The public id is the number enciphered (internal/inbox).
--
-- Identity values are not handed out in commit order, so a writer still
-- locks its user's row (SELECT … FOR NO KEY UPDATE) before it inserts: one
-- user's messages then commit in number order, and a stream resuming after
-- message N misses nothing.
--
-- Old messages are renumbered in (user_id, seq) order, which keeps each
-- user's order; otps follow through the mapping.
CREATE TABLE inbox_renumbered AS
	SELECT id AS old_id, row_number() OVER (ORDER BY user_id, seq) AS new_id FROM inbox_messages;

ALTER TABLE inbox_messages RENAME COLUMN id TO old_id;
ALTER TABLE inbox_messages ADD COLUMN id BIGINT;
UPDATE inbox_messages m SET id = r.new_id FROM inbox_renumbered r WHERE r.old_id = m.old_id;
ALTER TABLE otps ADD COLUMN message_num BIGINT;
UPDATE otps o SET message_num = r.new_id FROM inbox_renumbered r WHERE r.old_id = o.message_id;
ALTER TABLE otps DROP COLUMN message_id;
ALTER TABLE otps RENAME COLUMN message_num TO message_id;
ALTER TABLE otps ALTER COLUMN message_id SET NOT NULL;

ALTER TABLE inbox_messages DROP COLUMN old_id, DROP COLUMN seq;
ALTER TABLE inbox_messages ALTER COLUMN id SET NOT NULL, ADD PRIMARY KEY (id);
ALTER TABLE inbox_messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('inbox_messages', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM inbox_messages), false);
-- Listing (newest first) and streaming (id > N) of one user's messages.
CREATE INDEX inbox_messages_user ON inbox_messages (user_id, id);

DROP TABLE inbox_renumbered;
ALTER TABLE users DROP COLUMN inbox_seq;
