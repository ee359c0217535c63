-- pgstack: no-transaction
-- Built without locking writers, as it would be on a live database.
CREATE INDEX CONCURRENTLY transfers_from_id ON transfers (from_id, created_at);
