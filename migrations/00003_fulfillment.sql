-- Owned by package fulfillment: catalog, sale items, orders.
-- +goose Up
CREATE TABLE products (
    id         bigserial PRIMARY KEY,
    sku        text NOT NULL UNIQUE,
    name       text NOT NULL,
    unit       text NOT NULL,
    weight_g   integer NOT NULL CHECK (weight_g > 0),
    volume_ml  integer NOT NULL CHECK (volume_ml > 0),
    zone       text NOT NULL CHECK (zone IN ('ambient', 'chilled', 'frozen')),
    bin        text NOT NULL,                      -- warehouse bin location; sorts in walking order
    category   text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sale_items (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouses(id),
    product_id    bigint NOT NULL REFERENCES products(id),
    delivery_date date NOT NULL,
    price_fen     bigint NOT NULL CHECK (price_fen >= 0),
    stock_cap     integer NOT NULL CHECK (stock_cap >= 0),
    sold          integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (warehouse_id, delivery_date, product_id),
    -- the last line of defence against overselling
    CONSTRAINT sale_items_within_cap CHECK (sold >= 0 AND sold <= stock_cap)
);

CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    leader_id       bigint NOT NULL REFERENCES leaders(id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    resident_id     bigint NOT NULL REFERENCES residents(id),
    warehouse_id    bigint NOT NULL REFERENCES warehouses(id),
    delivery_date   date NOT NULL,
    status          text NOT NULL CHECK (status IN ('placed', 'cancelled')),
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    total_fen       bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    cancelled_at    timestamptz,
    CONSTRAINT orders_idempotency UNIQUE (leader_id, idempotency_key)
);
CREATE INDEX orders_wave ON orders (warehouse_id, delivery_date);
CREATE INDEX orders_point_date ON orders (pickup_point_id, delivery_date);

CREATE TABLE order_lines (
    id           bigserial PRIMARY KEY,
    order_id     bigint NOT NULL REFERENCES orders(id),
    sale_item_id bigint NOT NULL REFERENCES sale_items(id),
    quantity     integer NOT NULL CHECK (quantity > 0),
    price_fen    bigint NOT NULL CHECK (price_fen >= 0),
    UNIQUE (order_id, sale_item_id)
);
CREATE INDEX order_lines_sale_item ON order_lines (sale_item_id);

-- +goose Down
DROP TABLE order_lines;
DROP TABLE orders;
DROP TABLE sale_items;
DROP TABLE products;
