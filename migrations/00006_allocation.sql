-- Owned by package fulfillment: what the warehouse received, and the cuts,
-- refunds and notices allocation decides when it received less than was sold.
-- +goose Up
ALTER TABLE waves
    ADD COLUMN allocation_policy text NOT NULL DEFAULT 'fcfs' CHECK (allocation_policy IN ('fcfs', 'even')),
    ADD COLUMN receipts_final boolean NOT NULL DEFAULT false;

CREATE TABLE wave_receipts (
    wave_id      bigint NOT NULL REFERENCES waves(id),
    sale_item_id bigint NOT NULL REFERENCES sale_items(id),
    received     integer NOT NULL CHECK (received >= 0),
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (wave_id, sale_item_id)
);

-- Units of an order line that will not be delivered because stock was short.
CREATE TABLE line_cuts (
    order_line_id bigint PRIMARY KEY REFERENCES order_lines(id),
    wave_id       bigint NOT NULL REFERENCES waves(id),
    cut           integer NOT NULL CHECK (cut > 0)
);
CREATE INDEX line_cuts_wave ON line_cuts (wave_id);

-- The refund ledger: rows are only ever added, never updated; one per line
-- and reason, so no rerun refunds twice.
CREATE TABLE refunds (
    id            bigserial PRIMARY KEY,
    wave_id       bigint NOT NULL REFERENCES waves(id),
    order_id      bigint NOT NULL REFERENCES orders(id),
    order_line_id bigint NOT NULL REFERENCES order_lines(id),
    resident_id   bigint NOT NULL REFERENCES residents(id),
    reason        text NOT NULL CHECK (reason IN ('shortage')),
    quantity      integer NOT NULL CHECK (quantity > 0),
    amount_fen    bigint NOT NULL CHECK (amount_fen >= 0),
    created_at    timestamptz NOT NULL,
    UNIQUE (order_line_id, reason)
);
CREATE INDEX refunds_wave ON refunds (wave_id);

-- +goose Down
DROP TABLE refunds;
DROP TABLE line_cuts;
DROP TABLE wave_receipts;
ALTER TABLE waves DROP COLUMN receipts_final, DROP COLUMN allocation_policy;
