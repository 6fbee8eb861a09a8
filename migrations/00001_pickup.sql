-- Owned by package pickup: the map of the business.
-- +goose Up
CREATE TABLE warehouses (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text NOT NULL,
    address        text NOT NULL DEFAULT '',
    lat            double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng            double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    time_zone      text NOT NULL,                 -- IANA name, e.g. Asia/Shanghai
    cutoff_local   time NOT NULL,                 -- orders for D close at this local time on D-1
    delivery_start time NOT NULL,                 -- local delivery window on D
    delivery_end   time NOT NULL CHECK (delivery_end > delivery_start),
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE leaders (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    phone      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pickup_points (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    warehouse_id bigint NOT NULL REFERENCES warehouses(id),
    leader_id    bigint NOT NULL UNIQUE REFERENCES leaders(id),
    name         text NOT NULL,
    address      text NOT NULL DEFAULT '',
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng          double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    opens        time NOT NULL,
    closes       time NOT NULL CHECK (closes > opens),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pickup_points_warehouse ON pickup_points (warehouse_id);

CREATE TABLE residents (
    id              bigserial PRIMARY KEY,
    phone           text NOT NULL UNIQUE,
    name            text NOT NULL,
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX residents_pickup_point ON residents (pickup_point_id);

-- +goose Down
DROP TABLE residents;
DROP TABLE pickup_points;
DROP TABLE leaders;
DROP TABLE warehouses;
