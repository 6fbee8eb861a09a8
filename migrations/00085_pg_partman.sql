-- Owned by package fulfillment/retention: pg_partman makes the nights'
-- partitions. Each partitioned table is registered with pg_partman (daily,
-- native, on delivery_date) and night_partitions_create asks its
-- create_partition_time for a night's partitions, under the same advisory
-- lock, instead of issuing its own CREATE TABLE ... PARTITION OF. The
-- partitions take pg_partman's names (order_lines_p2026_12_01).
--
-- What stays ours, and why:
-- - When: a night's partitions are made when its wave is created (the
--   waves trigger) and by the retention job up to its horizon, both by the
--   warehouse's clock. pg_partman's own premake counts from the database
--   server's clock, which the tests and the accelerated demo day do not
--   run on, so its automatic maintenance is off for these tables.
-- - No default partition. create_parent makes one; it is dropped. A row of
--   a night with no partition must fail loudly: in a default partition it
--   would be lost to the night's queries and would stop the night's
--   partition from ever being attached.
-- - Retention archives each night to a file before dropping it
--   (archive.go); pg_partman's retention only detaches or drops.
-- - The key from a night's parcel lines to the same night's order lines
--   (migration 00083): pg_partman's templates cannot name a partition.
-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman') THEN
        RAISE EXCEPTION 'the PostgreSQL server has no pg_partman extension: install it on the server (Debian: apt-get install postgresql-%-partman), then migrate again',
            current_setting('server_version_num')::int / 10000;
    END IF;
END $$;
-- +goose StatementEnd
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;

-- night_partition_name: pg_partman's name of a daily partition (its
-- datetime_string YYYY_MM_DD), checked against show_partition_name by
-- TestPartitionNamesArePgPartmans.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION night_partition_name(parent text, night date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || to_char(night, 'YYYY_MM_DD')
$$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname AS child, p.relname AS parent, to_date(right(c.relname, 8), 'YYYYMMDD') AS night
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
             WHERE p.relname = ANY(night_partitioned_tables()) AND p.relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', r.child, night_partition_name(r.parent, r.night));
    END LOOP;
END $$;
-- +goose StatementEnd

-- create_parent also makes partitions around the server's today and the
-- default partition: both are dropped (see above); the nights that had
-- partitions keep them.
-- +goose StatementBegin
DO $$
DECLARE
    parent text;
    kept   oid[];
    child  text;
BEGIN
    FOREACH parent IN ARRAY night_partitioned_tables() LOOP
        kept := ARRAY(SELECT inhrelid FROM pg_inherits WHERE inhparent = parent::regclass);
        PERFORM partman.create_parent(current_schema() || '.' || parent, 'delivery_date', 'native', 'daily',
            p_premake := 1, p_automatic_maintenance := 'off', p_jobmon := false);
        FOR child IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = parent::regclass AND NOT c.oid = ANY(kept) LOOP
            EXECUTE format('DROP TABLE %I', child);
        END LOOP;
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION night_partitions_create(night date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    parent  text;
    created integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unnest(night_partitioned_tables()) AS t(parent)
                   WHERE to_regclass(night_partition_name(t.parent, night)) IS NULL) THEN
        RETURN 0;
    END IF;
    -- pg_partman checks for the partition and then makes it; concurrent
    -- callers queue here so that each is made once.
    PERFORM pg_advisory_xact_lock(5316, 0);
    FOREACH parent IN ARRAY night_partitioned_tables() LOOP
        IF to_regclass(night_partition_name(parent, night)) IS NULL THEN
            PERFORM partman.create_partition_time(current_schema() || '.' || parent, ARRAY[night::timestamptz],
                p_analyze := false);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION night_partitions_create(night date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    parent  text;
    created integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unnest(night_partitioned_tables()) AS t(parent)
                   WHERE to_regclass(night_partition_name(t.parent, night)) IS NULL) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(5316, 0);
    FOREACH parent IN ARRAY night_partitioned_tables() LOOP
        IF to_regclass(night_partition_name(parent, night)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                night_partition_name(parent, night), parent, night, night + 1);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;
-- +goose StatementEnd

DELETE FROM partman.part_config WHERE parent_table IN
    (SELECT current_schema() || '.' || t FROM unnest(night_partitioned_tables()) AS t);
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY night_partitioned_tables() LOOP
        EXECUTE format('DROP TABLE IF EXISTS partman.%I', 'template_' || current_schema() || '_' || t);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM partman.part_config) THEN
        DROP EXTENSION pg_partman;
        DROP SCHEMA IF EXISTS partman;
    END IF;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname AS child, p.relname AS parent, to_date(right(c.relname, 10), 'YYYY_MM_DD') AS night
             FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
             WHERE p.relname = ANY(night_partitioned_tables()) AND p.relnamespace = current_schema()::regnamespace LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', r.child, r.parent || '_p' || to_char(r.night, 'YYYYMMDD'));
    END LOOP;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION night_partition_name(parent text, night date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || to_char(night, 'YYYYMMDD')
$$;
-- +goose StatementEnd
