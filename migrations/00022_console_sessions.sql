-- Owned by internal/platform: browser sessions of the operator console. The
-- console's cookie carries a random session id, never the bearer token; the
-- session stands for its token, so revoking or expiring the token ends it.
-- +goose Up
CREATE TABLE console_sessions (
    id           bigserial PRIMARY KEY,
    session_hash bytea NOT NULL UNIQUE,          -- sha256 of the session id; the id itself is never stored
    token_id     bigint NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz                     -- logged out
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- +goose Down
DROP TABLE console_sessions;
