-- Owned by package routeplan. Which vehicle types can carry chilled and
-- frozen bags (a refrigerated compartment for each zone; both flags for a
-- truck with two). The types that exist already carried every zone, so
-- they keep doing so until ops say otherwise; a new type carries only
-- ambient bags unless it says it has the compartments. And how long one of their routes may last from
-- departure to return (a driver's shift; 0: only the shift window bounds it).
-- Each planned stop keeps the window it was planned in (the warehouse's
-- delivery window within the point's receiving hours), for the route sheets
-- and the route API; NULL on plans made before. Road matrices from OSRM
-- are kept per wave and set of points (depot first), so that a rerun of the
-- route stage asks OSRM nothing again: little-endian float32 arrays, row
-- by row, of metres and seconds.
-- +goose Up
ALTER TABLE vehicle_types
    ADD COLUMN chilled boolean NOT NULL DEFAULT true,
    ADD COLUMN frozen  boolean NOT NULL DEFAULT true,
    ADD COLUMN max_route_minutes integer NOT NULL DEFAULT 0 CHECK (max_route_minutes BETWEEN 0 AND 1440);
ALTER TABLE vehicle_types ALTER COLUMN chilled SET DEFAULT false, ALTER COLUMN frozen SET DEFAULT false;
ALTER TABLE route_stops
    ADD COLUMN window_start timestamptz,
    ADD COLUMN window_end   timestamptz;
CREATE TABLE wave_matrices (
    wave_id    bigint NOT NULL REFERENCES waves(id),
    points     text NOT NULL,            -- SHA-256 of the points' coordinates, in order
    n          integer NOT NULL CHECK (n > 0),
    distance_m bytea NOT NULL,
    duration_s bytea NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (wave_id, points)
);

-- +goose Down
DROP TABLE wave_matrices;
ALTER TABLE route_stops DROP COLUMN window_end, DROP COLUMN window_start;
ALTER TABLE vehicle_types DROP COLUMN max_route_minutes, DROP COLUMN frozen, DROP COLUMN chilled;
