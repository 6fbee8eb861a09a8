-- Owned by internal/platform: API tokens for leaders and staff.
-- +goose Up
CREATE TABLE api_tokens (
    id         bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,            -- sha256 of the token; the token itself is never stored
    role       text NOT NULL CHECK (role IN ('leader', 'warehouse', 'ops', 'admin')),
    leader_id  bigint REFERENCES leaders(id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CHECK ((role = 'leader') = (leader_id IS NOT NULL))
);

-- +goose Down
DROP TABLE api_tokens;
