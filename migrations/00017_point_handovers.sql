-- Owned by package pickup: pickup points handed from one leader to another.
-- A point's orders, deliveries, parcels and codes belong to the point, and a
-- leader reaches them through the point's current leader_id, so changing it
-- moves them all at once; this is the record of who did it and when.
-- +goose Up
CREATE TABLE point_handovers (
    id              bigserial PRIMARY KEY,
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    from_leader_id  bigint NOT NULL REFERENCES leaders(id),
    to_leader_id    bigint NOT NULL REFERENCES leaders(id) CHECK (to_leader_id <> from_leader_id),
    by_token_id     bigint NOT NULL REFERENCES api_tokens(id), -- the staff token that handed it over
    by_name         text NOT NULL,                             -- that token's name at the time
    created_at      timestamptz NOT NULL
);
CREATE INDEX point_handovers_point ON point_handovers (pickup_point_id, id);

-- +goose Down
DROP TABLE point_handovers;
