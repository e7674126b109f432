-- One row per epoch the miner worked on.
CREATE TABLE IF NOT EXISTS epochs (
    epoch_id TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    start_unix INTEGER NOT NULL,
    deadline_unix INTEGER NOT NULL,
    assignment TEXT NOT NULL,
    status_reported INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- One row per (epoch, zipcode). state: pending, scraped, uploaded, rejected, failed.
CREATE TABLE IF NOT EXISTS zipcodes (
    epoch_id TEXT NOT NULL REFERENCES epochs(epoch_id) ON DELETE CASCADE,
    zipcode TEXT NOT NULL,
    expected_listings INTEGER NOT NULL,
    state TEXT NOT NULL,
    listing_count INTEGER,
    scraped_at_ms INTEGER,
    parquet BLOB,
    sha256 TEXT,
    s3_key TEXT,
    etag TEXT,
    uploaded_at_ms INTEGER,
    reason TEXT,
    PRIMARY KEY (epoch_id, zipcode)
);
