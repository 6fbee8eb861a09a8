-- Owned by package routeplan. Which vehicle types can carry chilled and
-- frozen bags (a refrigerated compartment for each zone; both flags for a
-- truck with two), and how long one of their routes may last from
-- departure to return (a driver's shift; 0: only the shift window bounds it).
-- +goose Up
ALTER TABLE vehicle_types
    ADD COLUMN chilled boolean NOT NULL DEFAULT false,
    ADD COLUMN frozen  boolean NOT NULL DEFAULT false,
    ADD COLUMN max_route_minutes integer NOT NULL DEFAULT 0 CHECK (max_route_minutes BETWEEN 0 AND 1440);

-- +goose Down
ALTER TABLE vehicle_types DROP COLUMN max_route_minutes, DROP COLUMN frozen, DROP COLUMN chilled;
