-- Owned by package fulfillment: leader commission (团长佣金): the rates ops
-- set, and the ledger of what each leader earned on collected lines.
-- +goose Up
-- A rate in basis points (1 bp = 0.01 %) for everything (default), for a
-- product category (products.category) or for one product; the most
-- specific one applies: product, then category, then default.
CREATE TABLE commission_rates (
    id         bigserial PRIMARY KEY,
    scope      text NOT NULL CHECK (scope IN ('default', 'category', 'product')),
    category   text NOT NULL DEFAULT '',
    product_id bigint REFERENCES products(id),
    rate_bp    integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    updated_at timestamptz NOT NULL,
    CHECK (CASE scope
        WHEN 'default'  THEN category = '' AND product_id IS NULL
        WHEN 'category' THEN category <> '' AND product_id IS NULL
        WHEN 'product'  THEN category = '' AND product_id IS NOT NULL
    END)
);
-- One rate per key; the upsert names this index as its conflict target.
CREATE UNIQUE INDEX commission_rates_key ON commission_rates (scope, category, coalesce(product_id, 0));

-- 10 %, a common leader commission, until ops set another.
INSERT INTO commission_rates (scope, rate_bp, updated_at) VALUES ('default', 1000, now());

-- The ledger: rows are only ever added. An accrual when a line is collected,
-- a reversal (negative) for each after-sale refund of it; one row per line
-- and source, so no rerun pays or claws back twice.
CREATE TABLE commission_entries (
    id              bigserial PRIMARY KEY,
    leader_id       bigint NOT NULL REFERENCES leaders(id),
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    order_line_id   bigint NOT NULL REFERENCES order_lines(id),
    delivery_date   date NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('accrual', 'reversal')),
    source          text NOT NULL,            -- 'collect', or 'refund:<refund id>'
    quantity        integer NOT NULL CHECK (quantity > 0),
    base_fen        bigint NOT NULL CHECK (base_fen >= 0),
    rate_bp         integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    amount_fen      bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (order_line_id, source),
    CHECK ((kind = 'accrual' AND source = 'collect' AND amount_fen >= 0)
        OR (kind = 'reversal' AND source LIKE 'refund:%' AND amount_fen <= 0))
);
-- A leader's entries are read by delivery date (the app's range and the
-- monthly statement), not by created_at.
CREATE INDEX commission_entries_leader_date ON commission_entries (leader_id, delivery_date, id);

-- +goose Down
DROP TABLE commission_entries;
DROP TABLE commission_rates;
