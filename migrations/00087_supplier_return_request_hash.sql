-- Owned by package fulfillment/supplieraccount: what a return's request_id
-- was sent with, so the same id with another body is refused (409
-- request_id_conflict) rather than answered with the first return. Returns
-- made before this have none: their replay compares warehouse and supplier.
-- +goose Up
ALTER TABLE supplier_returns ADD COLUMN request_hash bytea;

-- +goose Down
ALTER TABLE supplier_returns DROP COLUMN request_hash;
