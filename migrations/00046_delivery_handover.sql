-- Owned by package lastmile. When the driver handed a stop's bags over
-- (the driver's page's "delivered"), before the leader checks them.
-- +goose Up
ALTER TABLE deliveries ADD COLUMN handed_over_at timestamptz;

-- +goose Down
ALTER TABLE deliveries DROP COLUMN handed_over_at;
