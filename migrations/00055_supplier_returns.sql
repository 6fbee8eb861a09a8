-- Owned by package fulfillment/supply: returns to supplier (退供), one
-- numbered document per supplier with its lines; stock lines move the stock
-- ledger (kind returned_to_supplier) in the same transaction.
-- +goose Up
CREATE TABLE supplier_returns (
    id           bigserial PRIMARY KEY,
    number       text NOT NULL UNIQUE,           -- RT-<warehouse>-<YYYYMMDD local>-<seq>
    request_key  text NOT NULL UNIQUE,           -- the caller's key: the same request again answers this return
    warehouse_id bigint NOT NULL REFERENCES warehouses(id),
    supplier_id  bigint NOT NULL REFERENCES suppliers(id),
    note         text NOT NULL DEFAULT '',
    units        bigint NOT NULL,
    amount_fen   bigint NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX supplier_returns_supplier ON supplier_returns (supplier_id, created_at);

-- A line returns either units the dock rejected on a purchase-order line
-- (never stock: the ledger does not move) or units of a lot in stock.
CREATE TABLE supplier_return_lines (
    id                     bigserial PRIMARY KEY,
    return_id              bigint NOT NULL REFERENCES supplier_returns(id),
    source                 text NOT NULL CHECK (source IN ('rejected', 'stock')),
    purchase_order_line_id bigint REFERENCES purchase_order_lines(id),
    product_id             bigint NOT NULL REFERENCES products(id),
    sku                    text NOT NULL,
    name                   text NOT NULL,
    unit                   text NOT NULL,
    reason                 text NOT NULL,
    lot                    text NOT NULL DEFAULT '',
    expires_on             date,
    quantity               integer NOT NULL CHECK (quantity > 0),
    price_fen              bigint NOT NULL CHECK (price_fen >= 0),
    amount_fen             bigint NOT NULL CHECK (amount_fen = quantity * price_fen),
    CHECK ((source = 'rejected') = (purchase_order_line_id IS NOT NULL))
);
CREATE INDEX supplier_return_lines_return ON supplier_return_lines (return_id);
CREATE INDEX supplier_return_lines_po_line ON supplier_return_lines (purchase_order_line_id) WHERE purchase_order_line_id IS NOT NULL;
CREATE TRIGGER supplier_returns_append_only BEFORE UPDATE OR DELETE ON supplier_returns
    FOR EACH ROW EXECUTE FUNCTION supply_append_only();
CREATE TRIGGER supplier_return_lines_append_only BEFORE UPDATE OR DELETE ON supplier_return_lines
    FOR EACH ROW EXECUTE FUNCTION supply_append_only();

-- +goose Down
DROP TABLE supplier_return_lines;
DROP TABLE supplier_returns;
