-- Profiles, sample data and settings (issue 16).
-- System settings the clients read and admins write (`/v1/system/settings`), by name.
CREATE TABLE system_settings (
    name TEXT PRIMARY KEY,
    json TEXT NOT NULL
);
-- Per-entity documents outside the entity's versioned JSON, as OpenMetadata's
-- `entity_extension` (a table's sample data and profiler configuration).
CREATE TABLE entity_extensions (
    id TEXT NOT NULL,
    extension TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (id, extension)
);
-- Time series (table, column and system profiles; later test results), keyed by the FQN of
-- what they measure so that a column's profiles are found by its FQN; `part` tells apart
-- entries of one timestamp (a system profile per operation). Reads are ranges of `ts` for one
-- key and extension, so the primary key serves them; retention deletes by `ts`.
CREATE TABLE entity_time_series (
    fqn_key TEXT NOT NULL,
    extension TEXT NOT NULL,
    ts BIGINT NOT NULL,
    part TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (fqn_key, extension, ts, part)
);
CREATE INDEX entity_time_series_by_ts ON entity_time_series (extension, ts);
