-- The sweep of sign-ups never verified walks pending accounts in id order;
-- this index holds only them, so the walk no longer reads every account.
CREATE INDEX users_pending ON users (id) WHERE status = 'pending';
