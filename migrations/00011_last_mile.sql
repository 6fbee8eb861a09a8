-- Owned by package fulfillment: dispatch, delivery to the leaders, receipt
-- (签收) per SKU, and each order line's parcel from ready to collected or
-- returned.
-- +goose Up
ALTER TABLE waves
    ADD COLUMN dispatched_at timestamptz,
    ADD COLUMN delivered_at  timestamptz;
ALTER TABLE routes ADD COLUMN dispatched_at timestamptz;
ALTER TABLE route_stops ADD COLUMN arrived_at timestamptz;

-- One delivery per (wave, pickup point): what one leader receives. Made by
-- the ready stage for every point with bags; route and seq are NULL for a
-- point the plan could not serve.
CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL REFERENCES waves(id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    route_id        bigint REFERENCES routes(id),
    seq             integer,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'dispatched', 'arrived', 'received')),
    dispatched_at   timestamptz,
    arrived_at      timestamptz,
    received_at     timestamptz,
    UNIQUE (wave_id, pickup_point_id)
);
CREATE INDEX deliveries_point ON deliveries (pickup_point_id);

-- What the leader confirmed of each SKU of a delivery.
CREATE TABLE delivery_lines (
    delivery_id  bigint NOT NULL REFERENCES deliveries(id),
    sale_item_id bigint NOT NULL REFERENCES sale_items(id),
    expected     integer NOT NULL CHECK (expected >= 0),
    received     integer NOT NULL CHECK (received >= 0),
    missing      integer NOT NULL CHECK (missing >= 0),
    damaged      integer NOT NULL CHECK (damaged >= 0),
    PRIMARY KEY (delivery_id, sale_item_id),
    CHECK (received + missing + damaged = expected)
);

-- An order line once its delivery is received: the units the resident can
-- collect, and what became of them. Lines that lost every unit have none.
CREATE TABLE parcel_lines (
    order_line_id   bigint PRIMARY KEY REFERENCES order_lines(id),
    delivery_id     bigint NOT NULL REFERENCES deliveries(id),
    pickup_point_id bigint NOT NULL,
    resident_id     bigint NOT NULL,
    delivery_date   date NOT NULL,
    ready           integer NOT NULL CHECK (ready > 0),
    state           text NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'collected', 'returned')),
    ready_at        timestamptz NOT NULL,
    collected_at    timestamptz,
    returned_at     timestamptz
);
CREATE INDEX parcel_lines_resident ON parcel_lines (pickup_point_id, resident_id);
CREATE INDEX parcel_lines_waiting ON parcel_lines (delivery_date) WHERE state = 'ready';

-- Receipt and returns refund too; after_sale is a refund ops grants on a
-- collected line.
ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check
    CHECK (reason IN ('shortage', 'missing', 'damaged', 'returned', 'after_sale'));

-- +goose Down
ALTER TABLE refunds DROP CONSTRAINT refunds_reason_check;
ALTER TABLE refunds ADD CONSTRAINT refunds_reason_check CHECK (reason IN ('shortage'));
DROP TABLE parcel_lines;
DROP TABLE delivery_lines;
DROP TABLE deliveries;
ALTER TABLE route_stops DROP COLUMN arrived_at;
ALTER TABLE routes DROP COLUMN dispatched_at;
ALTER TABLE waves DROP COLUMN delivered_at, DROP COLUMN dispatched_at;
