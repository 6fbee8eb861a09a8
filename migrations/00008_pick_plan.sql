-- Owned by package fulfillment: the pick plan of a wave.
-- These tables are derived, rebuilt by the pick stage in one transaction from
-- rows that foreign keys already guard; they carry no foreign keys of their
-- own, which would cost a lookup per row on a million-line night.
-- +goose Up
-- Units of each SKU per pickup point: what the sorters put into each bag.
CREATE TABLE sort_lines (
    wave_id         bigint NOT NULL,
    sale_item_id    bigint NOT NULL,
    pickup_point_id bigint NOT NULL,
    zone            text NOT NULL,
    quantity        integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (wave_id, sale_item_id, pickup_point_id)
);
CREATE INDEX sort_lines_point ON sort_lines (wave_id, pickup_point_id);

-- The total pick list: units of each SKU, per temperature zone, walked in bin order.
CREATE TABLE pick_lines (
    wave_id      bigint NOT NULL,
    sale_item_id bigint NOT NULL,
    zone         text NOT NULL,
    bin          text NOT NULL,
    sku          text NOT NULL,
    name         text NOT NULL,
    unit         text NOT NULL,
    quantity     integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (wave_id, sale_item_id)
);
CREATE INDEX pick_lines_walk ON pick_lines (wave_id, zone, bin, sku);

-- One bag per pickup point and temperature zone.
CREATE TABLE bags (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL,
    pickup_point_id bigint NOT NULL,
    zone            text NOT NULL,
    units           integer NOT NULL,
    skus            integer NOT NULL,
    weight_g        bigint NOT NULL,
    volume_ml       bigint NOT NULL,
    UNIQUE (wave_id, pickup_point_id, zone)
);

-- +goose Down
DROP TABLE bags;
DROP TABLE pick_lines;
DROP TABLE sort_lines;
