-- Owned by package pickup. The hours a pickup point can receive the
-- morning's delivery (local time at the warehouse), apart from the hours
-- residents collect; both NULL when the point receives whenever the
-- warehouse delivers.
-- +goose Up
ALTER TABLE pickup_points
    ADD COLUMN receiving_from  time,
    ADD COLUMN receiving_until time,
    ADD CONSTRAINT pickup_points_receiving_hours CHECK (
        (receiving_from IS NULL AND receiving_until IS NULL)
        OR (receiving_from IS NOT NULL AND receiving_until IS NOT NULL AND receiving_until > receiving_from));

-- +goose Down
ALTER TABLE pickup_points DROP CONSTRAINT pickup_points_receiving_hours,
    DROP COLUMN receiving_until, DROP COLUMN receiving_from;
