-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE zipcodes (
    zipcode TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    city TEXT NOT NULL,
    county TEXT NOT NULL,
    expected_listings BIGINT NOT NULL,
    market_tier TEXT NOT NULL,
    geographic_region TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    imported_at BIGINT NOT NULL
);

CREATE TABLE epochs (
    epoch_id TEXT PRIMARY KEY,
    start_unix BIGINT NOT NULL,
    end_unix BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    validation_seed TEXT NOT NULL,
    seed_commitment TEXT NOT NULL,
    selection_seed TEXT NOT NULL,
    target_listings BIGINT NOT NULL,
    tolerance_percent BIGINT NOT NULL,
    algorithm_version TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE epoch_zipcodes (
    epoch_id TEXT NOT NULL REFERENCES epochs (epoch_id),
    zipcode TEXT NOT NULL,
    expected_listings BIGINT NOT NULL,
    state TEXT NOT NULL,
    city TEXT NOT NULL,
    county TEXT NOT NULL,
    market_tier TEXT NOT NULL,
    geographic_region TEXT NOT NULL,
    honeypot BIGINT NOT NULL,
    PRIMARY KEY (epoch_id, zipcode)
);

CREATE INDEX epochs_by_start ON epochs (start_unix);

CREATE TABLE miner_status (
    epoch_id TEXT NOT NULL,
    hotkey TEXT NOT NULL,
    status_json TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (epoch_id, hotkey)
);
