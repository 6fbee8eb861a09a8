-- Owned by package routeplan. Which vehicle types can carry chilled and
-- frozen bags (a refrigerated compartment for each zone; both flags for a
-- truck with two). The types that exist already carried every zone, so
-- they keep doing so until ops say otherwise; a new type carries only
-- ambient bags unless it says it has the compartments. And how long one of their routes may last from
-- departure to return (a driver's shift; 0: only the shift window bounds it).
-- Each planned stop keeps the window it was planned in (the warehouse's
-- delivery window within the point's receiving hours), for the route sheets
-- and the route API; NULL on plans made before.
-- +goose Up
ALTER TABLE vehicle_types
    ADD COLUMN chilled boolean NOT NULL DEFAULT true,
    ADD COLUMN frozen  boolean NOT NULL DEFAULT true,
    ADD COLUMN max_route_minutes integer NOT NULL DEFAULT 0 CHECK (max_route_minutes BETWEEN 0 AND 1440);
ALTER TABLE vehicle_types ALTER COLUMN chilled SET DEFAULT false, ALTER COLUMN frozen SET DEFAULT false;
ALTER TABLE route_stops
    ADD COLUMN window_start timestamptz,
    ADD COLUMN window_end   timestamptz;

-- +goose Down
ALTER TABLE route_stops DROP COLUMN window_end, DROP COLUMN window_start;
ALTER TABLE vehicle_types DROP COLUMN max_route_minutes, DROP COLUMN frozen, DROP COLUMN chilled;
