-- Owned by package pickup: a resident belongs to one pickup point. The same
-- phone at another point is another resident, with the name, contact
-- preferences, codes and notices that point gave it, so no leader learns of,
-- or books an order onto, another point's resident.
-- +goose Up
-- Until now a phone was one resident everywhere, so an order may have been
-- booked to a resident of another point. Each (resident, point) of such
-- orders gets a resident at the order's point with the same phone, name and
-- contact preferences (it is the same person), and the orders' rows follow.
ALTER TABLE residents DROP CONSTRAINT residents_phone_key;

CREATE TEMPORARY TABLE resident_moves (
    old_id   bigint NOT NULL,
    point_id bigint NOT NULL,
    new_id   bigint NOT NULL,
    PRIMARY KEY (old_id, point_id)
) ON COMMIT DROP;

WITH m AS (
    SELECT o.resident_id AS old_id, o.pickup_point_id AS point_id, min(o.created_at) AS first_order
    FROM orders o JOIN residents r ON r.id = o.resident_id
    WHERE o.pickup_point_id <> r.pickup_point_id
    GROUP BY o.resident_id, o.pickup_point_id
), added AS (
    INSERT INTO residents (phone, name, pickup_point_id, email, opted_out, created_at)
    SELECT r.phone, r.name, m.point_id, r.email, r.opted_out, m.first_order
    FROM m JOIN residents r ON r.id = m.old_id
    ORDER BY m.old_id, m.point_id
    RETURNING id, phone, pickup_point_id
)
INSERT INTO resident_moves (old_id, point_id, new_id)
SELECT m.old_id, m.point_id, added.id
FROM m JOIN residents r ON r.id = m.old_id
JOIN added ON added.phone = r.phone AND added.pickup_point_id = m.point_id;

UPDATE orders o SET resident_id = m.new_id FROM resident_moves m
WHERE o.resident_id = m.old_id AND o.pickup_point_id = m.point_id;
UPDATE parcel_lines pl SET resident_id = m.new_id FROM resident_moves m
WHERE pl.resident_id = m.old_id AND pl.pickup_point_id = m.point_id;
UPDATE pickup_codes c SET resident_id = m.new_id FROM resident_moves m
WHERE c.resident_id = m.old_id AND c.pickup_point_id = m.point_id;
-- The ledger is append-only for amounts; which of the person's two rows a
-- refund names is filed again with its order.
UPDATE refunds f SET resident_id = o.resident_id FROM orders o
WHERE o.id = f.order_id AND f.resident_id <> o.resident_id;
-- Notices already queued stay with the row they were written for: the same
-- phone, so they reach the same person.

-- One resident per phone and point; the index also serves lookups by point.
ALTER TABLE residents ADD CONSTRAINT residents_point_phone UNIQUE (pickup_point_id, phone);
DROP INDEX residents_pickup_point;
-- An order's and a pickup code's resident is one of their point's: the
-- schema, not only the code, refuses another point's resident.
ALTER TABLE residents ADD CONSTRAINT residents_id_point UNIQUE (id, pickup_point_id);
ALTER TABLE orders DROP CONSTRAINT orders_resident_id_fkey,
    ADD CONSTRAINT orders_resident_at_point FOREIGN KEY (resident_id, pickup_point_id) REFERENCES residents (id, pickup_point_id);
ALTER TABLE pickup_codes DROP CONSTRAINT pickup_codes_resident_id_fkey,
    ADD CONSTRAINT pickup_codes_resident_at_point FOREIGN KEY (resident_id, pickup_point_id) REFERENCES residents (id, pickup_point_id);

-- +goose Down
-- The rows of one phone merge into its oldest; everything they hold follows.
ALTER TABLE pickup_codes DROP CONSTRAINT pickup_codes_resident_at_point;
ALTER TABLE orders DROP CONSTRAINT orders_resident_at_point;
CREATE TEMPORARY TABLE resident_merges ON COMMIT DROP AS
SELECT r.id AS old_id, k.keep_id AS new_id
FROM residents r JOIN (SELECT phone, min(id) AS keep_id FROM residents GROUP BY phone) k ON k.phone = r.phone
WHERE r.id <> k.keep_id;
UPDATE orders o SET resident_id = m.new_id FROM resident_merges m WHERE o.resident_id = m.old_id;
UPDATE parcel_lines pl SET resident_id = m.new_id FROM resident_merges m WHERE pl.resident_id = m.old_id;
UPDATE pickup_codes c SET resident_id = m.new_id FROM resident_merges m WHERE c.resident_id = m.old_id;
UPDATE refunds f SET resident_id = m.new_id FROM resident_merges m WHERE f.resident_id = m.old_id;
UPDATE outbox x SET resident_id = m.new_id FROM resident_merges m WHERE x.resident_id = m.old_id;
DELETE FROM residents r USING resident_merges m WHERE r.id = m.old_id;
ALTER TABLE residents DROP CONSTRAINT residents_id_point, DROP CONSTRAINT residents_point_phone,
    ADD CONSTRAINT residents_phone_key UNIQUE (phone);
CREATE INDEX residents_pickup_point ON residents (pickup_point_id);
ALTER TABLE orders ADD CONSTRAINT orders_resident_id_fkey FOREIGN KEY (resident_id) REFERENCES residents (id);
ALTER TABLE pickup_codes ADD CONSTRAINT pickup_codes_resident_id_fkey FOREIGN KEY (resident_id) REFERENCES residents (id);
