-- Owned by package fulfillment/night: the sort lines' key leads with the
-- pickup point, so one index serves both the key and a point's lines (a
-- leader's receipt, the delivery's detail), and the pick stage, which writes
-- its lines in that order, only ever appends to it.
-- +goose Up
DROP INDEX sort_lines_point;
ALTER TABLE sort_lines DROP CONSTRAINT sort_lines_pkey,
    ADD CONSTRAINT sort_lines_pkey PRIMARY KEY (wave_id, pickup_point_id, sale_item_id, delivery_date);

-- +goose Down
ALTER TABLE sort_lines DROP CONSTRAINT sort_lines_pkey,
    ADD CONSTRAINT sort_lines_pkey PRIMARY KEY (wave_id, sale_item_id, pickup_point_id, delivery_date);
CREATE INDEX sort_lines_point ON sort_lines (wave_id, pickup_point_id);
