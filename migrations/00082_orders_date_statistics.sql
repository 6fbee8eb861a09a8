-- Owned by package fulfillment/intake: ANALYZE keeps no statistics of
-- orders.delivery_date. Tonight's date is never in them (its orders arrive
-- all evening, after the last ANALYZE), and a date missing from a list of
-- common dates that covers the whole table is estimated at one row: the
-- planner then found a point's orders of the night through the index on
-- the date alone, walking the whole night's orders for every receipt and
-- every leader's listing. Without statistics a date is estimated at a fixed
-- share of the table, and the point's index (the point is known to be
-- selective) wins for any night, tonight's too, from the first night on.
-- +goose Up
ALTER TABLE orders ALTER COLUMN delivery_date SET STATISTICS 0;

-- +goose Down
ALTER TABLE orders ALTER COLUMN delivery_date SET STATISTICS -1;
