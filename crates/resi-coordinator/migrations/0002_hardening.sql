-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Signed requests accepted, so each (hotkey, signature) is accepted once
-- within the timestamp window by every coordinator sharing the database.
CREATE TABLE seen_signatures (
    hotkey TEXT NOT NULL,
    signature TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (hotkey, signature)
);
CREATE INDEX seen_signatures_by_expiry ON seen_signatures (expires_at);

-- Who was given write access to which epoch's folder: validators list these
-- folders instead of the whole bucket.
CREATE TABLE upload_grants (
    epoch_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    hotkey TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (epoch_id, kind, hotkey)
);
