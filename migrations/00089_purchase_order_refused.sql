-- Owned by package fulfillment/supply: a send its supplier or channel
-- refused for good (a 4xx, no channel configured, a private address) is not
-- retried. It was kept only as last_error, which nothing showed: the order
-- looked queued forever. refused_at marks it, so the order shows
-- send_failed with the refusal until ops fix the supplier and resend.
-- +goose Up
ALTER TABLE purchase_order_sends ADD COLUMN refused_at timestamptz;

-- +goose Down
ALTER TABLE purchase_order_sends DROP COLUMN refused_at;
