-- Owned by package fulfillment/retention: the per-night rows that are not
-- partitioned (see 00060 for why orders and the outbox cannot be) are
-- archived and deleted night by night with the partitions: the order
-- headers (those a refund or an after-sale claim names stay, with those
-- aggregates), the delivery lines, and the notices sent or given up. These
-- indexes find a night's rows, and let the foreign keys to orders be checked
-- as its rows go.
-- +goose Up
CREATE INDEX orders_delivery_date ON orders (delivery_date);
CREATE INDEX refunds_order ON refunds (order_id);
CREATE INDEX aftersale_claims_order ON aftersale_claims (order_id);
CREATE INDEX outbox_done_night ON outbox (((created_at AT TIME ZONE 'UTC')::date))
    WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;

-- +goose Down
DROP INDEX outbox_done_night;
DROP INDEX aftersale_claims_order;
DROP INDEX refunds_order;
DROP INDEX orders_delivery_date;
