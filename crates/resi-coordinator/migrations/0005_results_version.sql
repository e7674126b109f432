-- The results version each epoch is validated by, announced in its
-- assignment (PROTOCOL.md §7a). Epochs created before announcements were
-- validated by version 6.
ALTER TABLE epochs ADD COLUMN results_version BIGINT NOT NULL DEFAULT 6;
