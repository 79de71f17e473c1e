-- An inbox message has a source, who sent it — an app today, a rental or a
-- supplier next — of a kind, an id and a name, and a type from an open set
-- (otp and notification today, sms next) that the code writing it checks,
-- so that a new surface needs no migration to deliver. app_id and app_name
-- become source_id and source_name; the messages so far are apps'.
--
-- All in place: renames and a dropped constraint touch only the catalog,
-- and a column added with a constant default does not rewrite the table
-- (the rows so far read the default); the default then goes, so that every
-- writer names its kind.
ALTER TABLE inbox_messages RENAME COLUMN app_id TO source_id;
ALTER TABLE inbox_messages RENAME COLUMN app_name TO source_name;
ALTER TABLE inbox_messages ADD COLUMN source_kind TEXT NOT NULL DEFAULT 'app';
ALTER TABLE inbox_messages ALTER COLUMN source_kind DROP DEFAULT;
ALTER TABLE inbox_messages DROP CONSTRAINT inbox_messages_type_check;
