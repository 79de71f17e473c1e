-- Revocations of inbox event streams: each row says that the user's streams
-- opened with session (every one of the user's streams when session is '')
-- must close. Every serving instance reads the rows after the last it
-- applied, a few times a second, so that a revocation made by any process —
-- another instance, `linkbox users set-status` — closes the streams it
-- holds. Identity values are not handed out in commit order: a writer locks
-- the table (EXCLUSIVE, which lets reads through) before it inserts, so that
-- revocations commit in id order and a reader past id N misses none. Rows
-- are swept after a day. No foreign key: deleting an account revokes its
-- streams too.
CREATE TABLE stream_revocations (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id    TEXT NOT NULL,
	session    TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
