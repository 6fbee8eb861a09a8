-- Owned by package fulfillment/retention: a parcel line's key to its order
-- line goes from each night's parcel_lines partition to the same night's
-- order_lines partition, instead of from the parent to the parent. It is
-- the same rule (a parcel line and its order line share their night), but
-- PostgreSQL 15 checks a key into a partitioned table with a generic plan
-- that locks every partition of order_lines for every row inserted:
-- inserting a receipt's 500 parcel lines took 10-17 ms with 9 to 121
-- nights kept, 4-6 ms with the key into the night's partition and 1.6 ms
-- with no key (a scratch database on the 2-core VM). Retention drops a
-- night's parcel_lines partition before its order_lines one, as before.
-- +goose Up
ALTER TABLE parcel_lines DROP CONSTRAINT parcel_lines_order_line_fkey;

-- night_partition_keys adds the keys between a night's partitions; the
-- partitions exist. Adding a key that exists already is a no-op.
-- +goose StatementBegin
CREATE FUNCTION night_partition_keys(night date) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = to_regclass(night_partition_name('parcel_lines', night))
                     AND conname = 'parcel_lines_order_line_fkey') THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT parcel_lines_order_line_fkey
            FOREIGN KEY (order_line_id, delivery_date) REFERENCES %I (id, delivery_date)',
            night_partition_name('parcel_lines', night), night_partition_name('order_lines', night));
    END IF;
END $$;
-- +goose StatementEnd

-- night_partitions_ensure goes on creating a night's partitions, as
-- night_partitions_create, and then adds their keys.
ALTER FUNCTION night_partitions_ensure(date) RENAME TO night_partitions_create;
-- +goose StatementBegin
CREATE FUNCTION night_partitions_ensure(night date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    created integer := night_partitions_create(night);
BEGIN
    PERFORM night_partition_keys(night);
    RETURN created;
END $$;
-- +goose StatementEnd

SELECT night_partition_keys(to_date(right(c.relname, 8), 'YYYYMMDD'))
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'parcel_lines'::regclass;

-- +goose Down
DROP FUNCTION night_partitions_ensure(date);
ALTER FUNCTION night_partitions_create(date) RENAME TO night_partitions_ensure;
DROP FUNCTION night_partition_keys(date);

-- +goose StatementBegin
DO $$
DECLARE
    part text;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'parcel_lines'::regclass LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT parcel_lines_order_line_fkey', part);
    END LOOP;
END $$;
-- +goose StatementEnd
ALTER TABLE parcel_lines ADD CONSTRAINT parcel_lines_order_line_fkey FOREIGN KEY (order_line_id, delivery_date)
    REFERENCES order_lines (id, delivery_date);
