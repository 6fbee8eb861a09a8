-- Owned by package fulfillment: the fleet of each warehouse and the routes of a wave.
-- +goose Up
CREATE TABLE vehicle_types (
    id              bigserial PRIMARY KEY,
    warehouse_id    bigint NOT NULL REFERENCES warehouses(id),
    code            text NOT NULL,
    name            text NOT NULL,
    count           integer NOT NULL CHECK (count > 0),
    capacity_g      bigint NOT NULL CHECK (capacity_g > 0),
    capacity_ml     bigint NOT NULL CHECK (capacity_ml > 0),
    shift_start     time NOT NULL,            -- local time at the warehouse
    shift_end       time NOT NULL CHECK (shift_end > shift_start),
    fixed_cost_fen  bigint NOT NULL DEFAULT 0 CHECK (fixed_cost_fen >= 0),
    cost_per_km_fen bigint NOT NULL DEFAULT 0 CHECK (cost_per_km_fen >= 0),
    created_at      timestamptz NOT NULL,
    UNIQUE (warehouse_id, code)
);

CREATE TABLE routes (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL REFERENCES waves(id),
    route_no        integer NOT NULL,
    code            text NOT NULL,          -- R01, R02, … printed on labels and sheets
    vehicle_type_id bigint NOT NULL REFERENCES vehicle_types(id),
    stops           integer NOT NULL,
    weight_g        bigint NOT NULL,
    volume_ml       bigint NOT NULL,
    distance_m      bigint NOT NULL,
    departure_at    timestamptz NOT NULL,
    return_at       timestamptz NOT NULL,
    cost_fen        bigint NOT NULL,
    UNIQUE (wave_id, route_no)
);

CREATE TABLE route_stops (
    route_id        bigint NOT NULL REFERENCES routes(id),
    seq             integer NOT NULL,
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    arrival_at      timestamptz NOT NULL,
    start_at        timestamptz NOT NULL,   -- service starts (after waiting for the window)
    departure_at    timestamptz NOT NULL,
    weight_g        bigint NOT NULL,
    volume_ml       bigint NOT NULL,
    bags            integer NOT NULL,
    PRIMARY KEY (route_id, seq)
);
CREATE INDEX route_stops_point ON route_stops (pickup_point_id);

CREATE TABLE unserved_stops (
    wave_id         bigint NOT NULL REFERENCES waves(id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    reason          text NOT NULL,
    PRIMARY KEY (wave_id, pickup_point_id)
);

-- +goose Down
DROP TABLE unserved_stops;
DROP TABLE route_stops;
DROP TABLE routes;
DROP TABLE vehicle_types;
