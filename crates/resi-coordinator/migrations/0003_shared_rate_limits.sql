-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- Rate-limit windows shared by every coordinator on one database (replicas
-- behind a load balancer): one row per (route, caller), the window it counts
-- and the requests seen in it.
CREATE TABLE rate_limit_windows (
    route TEXT NOT NULL,
    caller TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (route, caller)
);
CREATE INDEX rate_limit_windows_by_start ON rate_limit_windows (window_start);
