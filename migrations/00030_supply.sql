-- Owned by package fulfillment/supply: suppliers and the terms they supply
-- products on, purchase orders made at cutoff and sent to suppliers,
-- receiving at the dock, and the stock ledger per warehouse, product and lot.
-- +goose Up
CREATE TABLE suppliers (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text NOT NULL,
    contact        text NOT NULL DEFAULT '',
    channel        text NOT NULL CHECK (channel IN ('webhook', 'email')),
    webhook_url    text NOT NULL DEFAULT '',
    webhook_secret text NOT NULL DEFAULT '',   -- HMAC key of the purchase orders posted to it
    email          text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CHECK (channel <> 'webhook' OR (webhook_url <> '' AND webhook_secret <> '')),
    CHECK (channel <> 'email' OR email <> '')
);

-- What a supplier supplies a product on. A product with several suppliers
-- buys from them by priority and share.
CREATE TABLE supply_terms (
    product_id    bigint NOT NULL REFERENCES products(id),
    supplier_id   bigint NOT NULL REFERENCES suppliers(id),
    priority      integer NOT NULL CHECK (priority BETWEEN 1 AND 100),
    share_pct     integer NOT NULL CHECK (share_pct BETWEEN 0 AND 100),
    case_pack     integer NOT NULL CHECK (case_pack >= 1),
    price_fen     bigint NOT NULL CHECK (price_fen >= 0),
    delivery_slot time NOT NULL,                  -- local time at the warehouse on the delivery date
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (product_id, supplier_id)
);
CREATE INDEX supply_terms_supplier ON supply_terms (supplier_id);

-- Extra units bought beyond the net requirement, per product category.
CREATE TABLE safety_margins (
    category   text PRIMARY KEY,
    percent    integer NOT NULL CHECK (percent BETWEEN 0 AND 100),
    updated_at timestamptz NOT NULL
);

-- The local time at which a warehouse allocates with what it has received.
CREATE TABLE receiving_deadlines (
    warehouse_id   bigint PRIMARY KEY REFERENCES warehouses(id),
    deadline_local time NOT NULL,                 -- on the delivery date
    updated_at     timestamptz NOT NULL
);

-- The purchase stage's reckoning per product of a wave: the requirement it
-- bought for. Written once with the purchase orders.
CREATE TABLE purchase_needs (
    wave_id    bigint NOT NULL REFERENCES waves(id),
    product_id bigint NOT NULL REFERENCES products(id),
    sold       integer NOT NULL,
    stock      integer NOT NULL,                  -- usable on hand at the delivery date
    margin_pct integer NOT NULL,
    required   integer NOT NULL,                  -- before rounding to case packs
    PRIMARY KEY (wave_id, product_id)
);

-- Purchase orders: one per supplier and wave; a revision is a new version,
-- never an edit of the one before.
CREATE TABLE purchase_orders (
    id            bigserial PRIMARY KEY,
    wave_id       bigint NOT NULL REFERENCES waves(id),
    supplier_id   bigint NOT NULL REFERENCES suppliers(id),
    version       integer NOT NULL CHECK (version >= 1),
    number        text NOT NULL UNIQUE,
    warehouse_id  bigint NOT NULL REFERENCES warehouses(id),
    delivery_date date NOT NULL,
    expected_at   timestamptz NOT NULL,          -- the earliest delivery slot of its lines
    units         bigint NOT NULL,
    amount_fen    bigint NOT NULL,
    note          text NOT NULL DEFAULT '',
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    UNIQUE (wave_id, supplier_id, version)
);

CREATE TABLE purchase_order_lines (
    id                bigserial PRIMARY KEY,
    purchase_order_id bigint NOT NULL REFERENCES purchase_orders(id),
    product_id        bigint NOT NULL REFERENCES products(id),
    sku               text NOT NULL,             -- the product as it was ordered, for the document
    name              text NOT NULL,
    unit              text NOT NULL,
    zone              text NOT NULL,
    case_pack         integer NOT NULL CHECK (case_pack >= 1),
    cases             integer NOT NULL CHECK (cases >= 0),
    quantity          integer NOT NULL CHECK (quantity = cases * case_pack),
    price_fen         bigint NOT NULL CHECK (price_fen >= 0),
    amount_fen        bigint NOT NULL CHECK (amount_fen = quantity * price_fen),
    UNIQUE (purchase_order_id, product_id)
);

-- How a purchase order ended at the dock: received, or not coming. Once.
CREATE TABLE purchase_order_closures (
    purchase_order_id bigint PRIMARY KEY REFERENCES purchase_orders(id),
    outcome           text NOT NULL CHECK (outcome IN ('received', 'not_coming')),
    closed_by         text NOT NULL,
    closed_at         timestamptz NOT NULL
);

-- Each time a purchase order goes to its supplier: the first send, then
-- every resend ops ask for. Its job sends it once.
CREATE TABLE purchase_order_sends (
    purchase_order_id bigint NOT NULL REFERENCES purchase_orders(id),
    seq               integer NOT NULL CHECK (seq >= 1),
    requested_by      text NOT NULL,
    requested_at      timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    sent_at           timestamptz,
    channel           text NOT NULL DEFAULT '',
    last_error        text NOT NULL DEFAULT '',
    PRIMARY KEY (purchase_order_id, seq)
);

-- Receiving at the dock, per purchase-order line and scan. Rows are only
-- added: a correction is a row with negative or adjusting quantities.
CREATE TABLE receiving_records (
    id                     bigserial PRIMARY KEY,
    scan_id                text NOT NULL UNIQUE,
    purchase_order_line_id bigint NOT NULL REFERENCES purchase_order_lines(id),
    arrived                integer NOT NULL,
    accepted               integer NOT NULL,
    rejected               integer NOT NULL,
    reason                 text NOT NULL DEFAULT ''
                           CHECK (reason IN ('', 'quality', 'damage', 'wrong_item', 'short_shelf_life')),
    lot                    text NOT NULL DEFAULT '',
    expires_on             date,
    recorded_by            text NOT NULL,
    recorded_at            timestamptz NOT NULL,
    CHECK (arrived = accepted + rejected),
    CHECK (rejected = 0 OR reason <> '')
);
CREATE INDEX receiving_records_line ON receiving_records (purchase_order_line_id);

-- The stock ledger: every movement of units in or out of a warehouse's lot,
-- signed. A lot's balance is the sum of its movements. Each cause moves a lot
-- once (source names the cause), so no rerun moves it twice.
CREATE TABLE stock_movements (
    id           bigserial PRIMARY KEY,
    warehouse_id bigint NOT NULL REFERENCES warehouses(id),
    product_id   bigint NOT NULL REFERENCES products(id),
    lot          text NOT NULL DEFAULT '',
    expires_on   date,
    kind         text NOT NULL CHECK (kind IN ('received', 'allocated', 'written_off', 'returned_to_supplier', 'returned_parcel')),
    quantity     integer NOT NULL CHECK (quantity <> 0),
    source       text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX stock_movements_once ON stock_movements
    (source, kind, warehouse_id, product_id, lot, coalesce(expires_on, 'infinity'::date));
CREATE INDEX stock_movements_lot ON stock_movements (warehouse_id, product_id, expires_on);

-- +goose StatementBegin
CREATE FUNCTION supply_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are only ever added', TG_TABLE_NAME;
END $$;
-- +goose StatementEnd
CREATE TRIGGER receiving_records_append_only BEFORE UPDATE OR DELETE ON receiving_records
    FOR EACH ROW EXECUTE FUNCTION supply_append_only();
CREATE TRIGGER stock_movements_append_only BEFORE UPDATE OR DELETE ON stock_movements
    FOR EACH ROW EXECUTE FUNCTION supply_append_only();

-- +goose Down
DROP TABLE stock_movements;
DROP TABLE receiving_records;
DROP FUNCTION supply_append_only();
DROP TABLE purchase_order_sends;
DROP TABLE purchase_order_closures;
DROP TABLE purchase_order_lines;
DROP TABLE purchase_orders;
DROP TABLE purchase_needs;
DROP TABLE receiving_deadlines;
DROP TABLE safety_margins;
DROP TABLE supply_terms;
DROP TABLE suppliers;
