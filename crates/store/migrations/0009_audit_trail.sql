-- The audit trail (issue 14): each event's outcome and the client address of its request.
-- Rows written before keep their columns and read as successes without an address.
ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT 'success';
ALTER TABLE audit_log ADD COLUMN client TEXT;

-- Pages are read newest first with the id breaking ties in time (the cursor), over all events
-- or one actor's.
DROP INDEX audit_log_by_time;
CREATE INDEX audit_log_by_time ON audit_log (at, id);
CREATE INDEX audit_log_by_actor ON audit_log (actor, at, id);
