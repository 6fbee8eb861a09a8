-- Owned by package pickup: pickup codes (核销码), residents' contact
-- preferences, and the outbox's delivery bookkeeping.
-- +goose Up
-- One code per resident per pickup point per delivery date, random, unique
-- within the point and date.
CREATE TABLE pickup_codes (
    pickup_point_id bigint NOT NULL REFERENCES pickup_points(id),
    delivery_date   date NOT NULL,
    resident_id     bigint NOT NULL REFERENCES residents(id),
    code            text NOT NULL CHECK (code ~ '^[0-9]{6}$'),
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (pickup_point_id, delivery_date, resident_id),
    UNIQUE (pickup_point_id, code, delivery_date)  -- verification looks codes up by point
);

ALTER TABLE residents
    ADD COLUMN email     text NOT NULL DEFAULT '',
    ADD COLUMN opted_out text[] NOT NULL DEFAULT '{}';  -- channels the resident refuses: webhook, sms, email

-- The dispatcher claims due rows with a lease (claimed_until), so several
-- workers never send one row at once, and a worker killed mid-send leaves
-- its rows to be claimed again once the lease runs out.
ALTER TABLE outbox
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT 'epoch',
    ADD COLUMN claimed_until   timestamptz,
    ADD COLUMN channel         text NOT NULL DEFAULT '',  -- the channel that delivered it
    ADD COLUMN last_error      text NOT NULL DEFAULT '',
    ADD COLUMN failed_at       timestamptz;               -- gave up after the last attempt
DROP INDEX outbox_unsent;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN failed_at, DROP COLUMN last_error, DROP COLUMN channel,
    DROP COLUMN claimed_until, DROP COLUMN next_attempt_at, DROP COLUMN attempts;
ALTER TABLE residents DROP COLUMN opted_out, DROP COLUMN email;
DROP TABLE pickup_codes;
