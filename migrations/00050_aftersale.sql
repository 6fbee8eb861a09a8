-- Owned by package fulfillment/aftersale: the leaders' after-sales claims
-- (售后) on lines delivered to their points, with their photos and ops'
-- decisions.
-- +goose Up
CREATE TABLE aftersale_claims (
    id              bigserial PRIMARY KEY,
    order_line_id   bigint NOT NULL REFERENCES order_lines(id),
    order_id        bigint NOT NULL REFERENCES orders(id),
    leader_id       bigint NOT NULL REFERENCES leaders(id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    reason          text NOT NULL CHECK (reason IN ('quality', 'damaged', 'missing', 'wrong_item', 'expired')),
    quantity        integer NOT NULL CHECK (quantity > 0),
    note            text NOT NULL DEFAULT '',
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decision_reason text NOT NULL DEFAULT '',
    decided_by      text NOT NULL DEFAULT '',
    decided_at      timestamptz,
    refund_id       bigint REFERENCES refunds(id),
    created_at      timestamptz NOT NULL,
    CHECK ((state = 'approved') = (refund_id IS NOT NULL))
);
-- A line carries at most one after-sale refund (the ledger's one row per
-- line and reason), so at most one claim that is pending or approved; a
-- rejected claim frees the line for a new one.
CREATE UNIQUE INDEX aftersale_claims_live ON aftersale_claims (order_line_id) WHERE state <> 'rejected';
CREATE INDEX aftersale_claims_leader ON aftersale_claims (leader_id, id);
CREATE INDEX aftersale_claims_created ON aftersale_claims (created_at, id);
CREATE INDEX aftersale_claims_pending ON aftersale_claims (created_at, id) WHERE state = 'pending';

-- A claim's photos, 1 to 3, checked as JPEG or PNG by their bytes. data
-- holds the bytes, or is NULL when they are kept in a directory under
-- their SHA-256.
CREATE TABLE aftersale_photos (
    claim_id     bigint NOT NULL REFERENCES aftersale_claims(id),
    seq          smallint NOT NULL CHECK (seq BETWEEN 1 AND 3),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    size_bytes   integer NOT NULL CHECK (size_bytes > 0),
    width        integer NOT NULL,
    height       integer NOT NULL,
    sha256       bytea NOT NULL,
    data         bytea,
    PRIMARY KEY (claim_id, seq)
);

-- +goose Down
DROP TABLE aftersale_photos;
DROP TABLE aftersale_claims;
