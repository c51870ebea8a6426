-- A user's credential generation: deleting a user moves it on, so the access tokens issued
-- before (stateless JWTs of basic-auth sessions, identity-provider tokens) stop working at
-- once on every replica, and a user re-created under the same name does not inherit them.
CREATE TABLE credential_generations (
    user_name TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
