-- One schema for SQLite and PostgreSQL: TEXT, BIGINT only (booleans are 0/1, times are epoch ms).

-- Every catalog entity (users, bots, roles, services, tables, ...) as OpenMetadata JSON.
CREATE TABLE entities (
    id TEXT PRIMARY KEY,
    entity_type TEXT NOT NULL,
    fqn TEXT NOT NULL,
    fqn_key TEXT NOT NULL,
    secondary_key TEXT,
    parent_fqn_key TEXT,
    deleted BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    json TEXT NOT NULL
);
CREATE UNIQUE INDEX entities_by_fqn ON entities (entity_type, fqn_key);
CREATE UNIQUE INDEX entities_by_secondary_key ON entities (entity_type, secondary_key);
CREATE INDEX entities_by_parent ON entities (entity_type, parent_fqn_key, fqn_key);

CREATE TABLE entity_versions (
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (id, version)
);

-- SSO users are bound to the issuer and subject of their first login.
CREATE TABLE sso_subjects (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_subjects_by_user ON sso_subjects (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- Failed basic-auth logins, shared by every replica.
CREATE TABLE login_failures (
    email_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

-- Logged-out access tokens, until they expire.
CREATE TABLE revoked_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

-- The one valid token per bot user: hash for verification, ciphertext for admins to read back.
CREATE TABLE bot_tokens (
    user_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL,
    token_ciphertext TEXT NOT NULL,
    expiry TEXT NOT NULL,
    expires_at BIGINT
);
CREATE UNIQUE INDEX bot_tokens_by_hash ON bot_tokens (token_hash);

CREATE TABLE personal_access_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    token_name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX personal_access_tokens_by_hash ON personal_access_tokens (token_hash);
CREATE INDEX personal_access_tokens_by_user ON personal_access_tokens (user_id);

-- Flags the server keeps across restarts (e.g. that the default admin was deleted on purpose).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- Password hashes (Argon2id, or bcrypt imported from OpenMetadata until the next login).
CREATE TABLE credentials (
    user_id TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
