-- Owned by package fulfillment/retention: a night of a table it prunes row
-- by row (not a partition) can be archived in more than one part: rows
-- that only qualify after their night was archived (a notice sent or given
-- up late) go in a later part, in a file of their own.
-- +goose Up
ALTER TABLE archived_partitions ADD COLUMN part integer NOT NULL DEFAULT 1 CHECK (part > 0);
ALTER TABLE archived_partitions DROP CONSTRAINT archived_partitions_pkey;
ALTER TABLE archived_partitions ADD PRIMARY KEY (parent, delivery_date, part);

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM archived_partitions WHERE part > 1) THEN
        RAISE EXCEPTION 'archived_partitions records later parts of a night; the old key cannot hold them';
    END IF;
END $$;
-- +goose StatementEnd
ALTER TABLE archived_partitions DROP CONSTRAINT archived_partitions_pkey;
ALTER TABLE archived_partitions ADD PRIMARY KEY (parent, delivery_date);
ALTER TABLE archived_partitions DROP COLUMN part;
