-- Owned by package refund: each refund's way to the resident's money. The
-- ledger's rows keep their amounts; what changes is where the payment stands:
-- created (in the ledger), submitted (the operator's payment system took the
-- refund.created event), paid or failed (its callback said so).
-- +goose Up
ALTER TABLE refunds
    ADD COLUMN state        text NOT NULL DEFAULT 'created'
                            CHECK (state IN ('created', 'submitted', 'paid', 'failed')),
    ADD COLUMN submitted_at timestamptz,
    ADD COLUMN paid_at      timestamptz,
    ADD COLUMN failed_at    timestamptz,
    ADD COLUMN payment_ref  text NOT NULL DEFAULT '',  -- the payment system's id of the payout
    ADD COLUMN failure      text NOT NULL DEFAULT '',  -- why the payment system could not pay
    ADD CHECK (state <> 'paid' OR paid_at IS NOT NULL);
-- The ledger listed by date, and the refunds still owed to residents.
CREATE INDEX refunds_created ON refunds (created_at, id);
CREATE INDEX refunds_unpaid ON refunds (created_at) WHERE state <> 'paid';

-- +goose Down
DROP INDEX refunds_unpaid;
DROP INDEX refunds_created;
ALTER TABLE refunds DROP COLUMN failure, DROP COLUMN payment_ref, DROP COLUMN failed_at,
    DROP COLUMN paid_at, DROP COLUMN submitted_at, DROP COLUMN state;
