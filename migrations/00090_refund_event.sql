-- Owned by package fulfillment/refund: the refund.created event as it was
-- first sent. Each attempt rebuilt the body from the catalog and the night
-- as they stood, so a product renamed between two attempts (or a night
-- retention dropped) sent the same Idempotency-Key with another body,
-- which a payment system may refuse. The first body is kept and sent again
-- as it is.
-- +goose Up
ALTER TABLE refunds ADD COLUMN event text;

-- +goose Down
ALTER TABLE refunds DROP COLUMN event;
