-- Owned by package fulfillment/intake: orders.delivery_date keeps no list
-- of its most common values. Tonight's date is never in that list (orders
-- for it arrive all evening, after the last ANALYZE), and a date missing
-- from a list that covers the whole table is estimated at one row: the
-- planner then found a point's orders of the night through the index on
-- the date alone, walking the whole night's orders for every receipt and
-- every leader's listing. Without the list, any date is estimated at one
-- night's share of the table (rows / distinct dates), tonight's too.
-- +goose Up
ALTER TABLE orders ALTER COLUMN delivery_date SET STATISTICS 1;

-- +goose Down
ALTER TABLE orders ALTER COLUMN delivery_date SET STATISTICS -1;
