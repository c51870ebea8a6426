-- Browser sign-in (issue 6). Every replica can finish a sign-in and serve a session.

-- A started sign-in: single use (deleted when the callback arrives), valid 10 minutes, bound to
-- the browser that started it (hash of the flow cookie). Keyed by the hash of `state`.
CREATE TABLE login_flows (
    state_hash TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_flows_by_expiry ON login_flows (expires_at);

-- Browser sessions. The cookie holds an opaque id; only its SHA-256 is stored. The bearer token
-- (the provider's ID token, or our own basic-auth token) and the refresh token stay here,
-- encrypted with the install's secret key, and never reach the browser.
CREATE TABLE browser_sessions (
    id_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    token_ciphertext TEXT NOT NULL,
    token_expires_at BIGINT NOT NULL,
    refresh_ciphertext TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    refresh_lock_until BIGINT NOT NULL
);
CREATE INDEX browser_sessions_by_user ON browser_sessions (user_id);
CREATE INDEX browser_sessions_by_last_seen ON browser_sessions (last_seen_at);
