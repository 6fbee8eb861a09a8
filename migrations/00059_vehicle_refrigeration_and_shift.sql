-- Owned by package routeplan. Which vehicle types can carry chilled and
-- frozen bags (a refrigerated compartment for each zone; both flags for a
-- truck with two).
-- +goose Up
ALTER TABLE vehicle_types
    ADD COLUMN chilled boolean NOT NULL DEFAULT false,
    ADD COLUMN frozen  boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE vehicle_types DROP COLUMN frozen, DROP COLUMN chilled;
