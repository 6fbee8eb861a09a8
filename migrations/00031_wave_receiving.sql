-- Owned by package fulfillment/wave (the columns of waves) and
-- fulfillment/night (receipt_overrides): what a closed wave waits for at the
-- dock, and the audit of receipts typed by hand.
-- +goose Up
ALTER TABLE waves
    ADD COLUMN purchased_at           timestamptz, -- the purchase stage committed
    ADD COLUMN purchase_orders        integer,     -- NULL: nothing of the wave is bought by purchase order
    ADD COLUMN purchase_orders_closed integer NOT NULL DEFAULT 0,
    ADD COLUMN receiving_deadline_at  timestamptz, -- allocate with what arrived by then
    ADD COLUMN receiving_deadline     time;        -- the same in the warehouse's local time, for people
CREATE INDEX waves_awaiting_allocation ON waves (id) WHERE state = 'closed' AND purchased_at IS NOT NULL;

-- Receipts typed by hand (PUT …/receipts) override what receiving counted:
-- who, when, what they said and what it replaced.
CREATE TABLE receipt_overrides (
    id          bigserial PRIMARY KEY,
    wave_id     bigint NOT NULL REFERENCES waves(id),
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL,
    policy      text NOT NULL,
    final       boolean NOT NULL,
    items       jsonb NOT NULL,   -- [{sale_item_id, received}] as given
    replaced    jsonb NOT NULL    -- the receipts of those items before
);
CREATE INDEX receipt_overrides_wave ON receipt_overrides (wave_id);

-- +goose Down
DROP TABLE receipt_overrides;
DROP INDEX waves_awaiting_allocation;
ALTER TABLE waves DROP COLUMN purchased_at, DROP COLUMN purchase_orders, DROP COLUMN purchase_orders_closed,
    DROP COLUMN receiving_deadline_at, DROP COLUMN receiving_deadline;
