-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Replay records keyed in time order. Every commitment a coordinator
-- accepts contains the request's timestamp, so a valid (hotkey, signature)
-- has exactly one timestamp and one expiry: (expires_at, hotkey, signature)
-- is unique exactly when (hotkey, signature) is. Keyed by expiry first, new
-- records land at the end of the index instead of on a random page each,
-- so a group of records writes a page or two rather than one per record,
-- and pruning by expiry needs no second index.
CREATE TABLE seen_requests (
    expires_at BIGINT NOT NULL,
    hotkey TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (expires_at, hotkey, signature)
);
INSERT INTO seen_requests (expires_at, hotkey, signature)
    SELECT expires_at, hotkey, signature FROM seen_signatures;
DROP TABLE seen_signatures;
