-- Owned by package fulfillment/night: a sort line row is now one bag's
-- contents (a pickup point's bag of one zone: its sale items and their
-- units, in sale item order) instead of one row per SKU and point. A
-- million-line night wrote 680,682 rows and their index at pick; per bag
-- it writes 14,612. Readers that want a row per SKU read the view
-- sort_line_skus.
-- +goose Up
CREATE TEMPORARY TABLE packed ON COMMIT DROP AS
SELECT wave_id, pickup_point_id, zone, delivery_date,
    array_agg(sale_item_id ORDER BY sale_item_id) AS sale_item_ids, array_agg(quantity ORDER BY sale_item_id) AS quantities
FROM sort_lines GROUP BY wave_id, pickup_point_id, zone, delivery_date;
TRUNCATE sort_lines;
ALTER TABLE sort_lines DROP CONSTRAINT sort_lines_pkey, DROP COLUMN sale_item_id, DROP COLUMN quantity,
    ADD COLUMN sale_item_ids bigint[] NOT NULL, ADD COLUMN quantities integer[] NOT NULL,
    ADD CONSTRAINT sort_lines_contents CHECK (cardinality(sale_item_ids) > 0
        AND cardinality(quantities) = cardinality(sale_item_ids) AND 0 < ALL (quantities)),
    ADD CONSTRAINT sort_lines_pkey PRIMARY KEY (wave_id, pickup_point_id, zone, delivery_date);
INSERT INTO sort_lines (wave_id, pickup_point_id, zone, delivery_date, sale_item_ids, quantities)
SELECT wave_id, pickup_point_id, zone, delivery_date, sale_item_ids, quantities FROM packed;

-- sort_line_skus is a bag's contents one sale item a row.
CREATE VIEW sort_line_skus AS
SELECT s.wave_id, s.pickup_point_id, s.zone, s.delivery_date, u.sale_item_id, u.quantity
FROM sort_lines s CROSS JOIN LATERAL unnest(s.sale_item_ids, s.quantities) AS u(sale_item_id, quantity);

-- +goose Down
CREATE TEMPORARY TABLE unpacked ON COMMIT DROP AS
SELECT wave_id, sale_item_id, pickup_point_id, zone, quantity, delivery_date FROM sort_line_skus;
DROP VIEW sort_line_skus;
TRUNCATE sort_lines;
ALTER TABLE sort_lines DROP CONSTRAINT sort_lines_pkey, DROP CONSTRAINT sort_lines_contents,
    DROP COLUMN sale_item_ids, DROP COLUMN quantities,
    ADD COLUMN sale_item_id bigint NOT NULL, ADD COLUMN quantity integer NOT NULL CHECK (quantity > 0),
    ADD CONSTRAINT sort_lines_pkey PRIMARY KEY (wave_id, pickup_point_id, sale_item_id, delivery_date);
INSERT INTO sort_lines (wave_id, sale_item_id, pickup_point_id, zone, quantity, delivery_date)
SELECT wave_id, sale_item_id, pickup_point_id, zone, quantity, delivery_date FROM unpacked;
