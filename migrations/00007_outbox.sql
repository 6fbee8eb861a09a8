-- Owned by package pickup: notices to residents, written in the transaction
-- of the change they announce and sent later by a dispatcher.
-- +goose Up
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    resident_id bigint NOT NULL REFERENCES residents(id),
    kind        text NOT NULL,            -- arrival, reminder, refund, return
    dedupe_key  text NOT NULL UNIQUE,     -- at most one notice per key, e.g. refund:shortage:<wave>:<resident>
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE outbox;
