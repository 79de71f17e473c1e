-- Revocations of inbox event streams: each row says that the user's streams
-- opened with session (every one of the user's streams when session is '')
-- must close. Every serving instance reads the rows after the last it
-- applied, a few times a second, so that a revocation made by any process —
-- another instance, `linkbox users set-status` — closes the streams it
-- holds. The single writer hands ids out in commit order; AUTOINCREMENT keeps
-- them from coming back once the sweep (after a day) has emptied the table.
-- No foreign key: deleting an account revokes its streams too.
CREATE TABLE stream_revocations (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    TEXT NOT NULL,
	session    TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
