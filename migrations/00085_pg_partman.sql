-- Owned by package fulfillment/retention: pg_partman makes the nights'
-- partitions. Each partitioned table is registered with pg_partman (daily,
-- native range partitions on delivery_date) and night_partitions_create asks
-- its create_partition_time for a night's partitions, under the same
-- advisory lock, instead of issuing its own CREATE TABLE ... PARTITION OF.
-- pg_partman 4 (Debian 12's) and 5 (Debian 13's, Ubuntu 24.04's) differ in
-- how a table is registered and how a partition is made; the partitions keep
-- their names (order_lines_p20261201, pg_partman 5's own daily names).
--
-- What stays ours, and why:
-- - When: a night's partitions are made when its wave is created (the
--   waves trigger) and by the retention job up to its horizon, both by the
--   warehouse's clock. pg_partman's own premake counts from the database
--   server's clock, which the tests and the accelerated demo day do not
--   run on, so its automatic maintenance is off for these tables.
-- - No default partition. A row of a night with no partition must fail
--   loudly: in a default partition it would be lost to the night's queries
--   and would stop the night's partition from ever being attached.
-- - Retention archives each night to a file before dropping it
--   (archive.go); pg_partman's retention only detaches or drops.
-- - The key from a night's parcel lines to the same night's order lines
--   (migration 00083): pg_partman's templates cannot name a partition.
-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    v text := (SELECT coalesce(e.extversion, a.default_version) FROM pg_available_extensions a
               LEFT JOIN pg_extension e ON e.extname = a.name WHERE a.name = 'pg_partman');
BEGIN
    IF v IS NULL THEN
        RAISE EXCEPTION 'the PostgreSQL server has no pg_partman extension: install it on the server (Debian: apt-get install postgresql-%-partman), then migrate again',
            current_setting('server_version_num')::int / 10000;
    ELSIF split_part(v, '.', 1) NOT IN ('4', '5') THEN
        RAISE EXCEPTION 'pg_partman % is installed; groupbuy works with pg_partman 4 or 5', v;
    END IF;
    -- In its usual schema, unless the database has it already.
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_partman') THEN
        CREATE SCHEMA IF NOT EXISTS partman;
        CREATE EXTENSION pg_partman SCHEMA partman;
    END IF;
END $$;
-- +goose StatementEnd

-- partman_major is the installed pg_partman's major version, and
-- partman_schema the schema it was installed in.
-- +goose StatementBegin
CREATE FUNCTION partman_major() RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT split_part(extversion, '.', 1)::integer FROM pg_extension WHERE extname = 'pg_partman'
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION partman_schema() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_partman'
$$;
-- +goose StatementEnd

-- Registering a table makes partitions around the server's today (and, in
-- pg_partman 4, a default partition): those are dropped; the nights that
-- had partitions keep them. pg_partman 4 names a daily partition
-- _pYYYY_MM_DD and would make today's beside ours, so the nights take its
-- names while the table is registered; its datetime_string is then set to
-- the names the partitions keep, which create_partition_time follows.
-- +goose StatementBegin
DO $$
DECLARE
    parent    text;
    qualified text;
    kept      oid[];
    r         record;
BEGIN
    FOREACH parent IN ARRAY night_partitioned_tables() LOOP
        qualified := current_schema() || '.' || parent;
        kept := ARRAY(SELECT inhrelid FROM pg_inherits WHERE inhparent = parent::regclass);
        IF partman_major() = 4 THEN
            FOR r IN SELECT c.relname, to_date(right(c.relname, 8), 'YYYYMMDD') AS night
                     FROM pg_class c WHERE c.oid = ANY(kept) LOOP
                EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname, parent || '_p' || to_char(r.night, 'YYYY_MM_DD'));
            END LOOP;
            EXECUTE format('SELECT %s.create_parent($1, ''delivery_date'', ''native'', ''daily'',
                p_premake := 1, p_automatic_maintenance := ''off'', p_jobmon := false)', partman_schema()) USING qualified;
            FOR r IN SELECT c.relname, to_date(right(c.relname, 10), 'YYYY_MM_DD') AS night
                     FROM pg_class c WHERE c.oid = ANY(kept) LOOP
                EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname, night_partition_name(parent, r.night));
            END LOOP;
        ELSE
            EXECUTE format('SELECT %s.create_parent($1, ''delivery_date'', ''1 day'',
                p_premake := 1, p_default_table := false, p_automatic_maintenance := ''off'', p_jobmon := false)', partman_schema()) USING qualified;
        END IF;
        EXECUTE format('UPDATE %s.part_config SET datetime_string = ''YYYYMMDD'' WHERE parent_table = $1', partman_schema())
            USING qualified;
        FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = parent::regclass AND NOT c.oid = ANY(kept) LOOP
            EXECUTE format('DROP TABLE %I', r.relname);
        END LOOP;
    END LOOP;
END $$;
-- +goose StatementEnd

-- A night goes to pg_partman as its midnight, a timestamptz, from which it
-- names and bounds the partition; the function runs in UTC so that neither
-- depends on the session's time zone (nor on one pg_partman may be set to).
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION night_partitions_create(night date) RETURNS integer LANGUAGE plpgsql
SET TimeZone = 'UTC' AS $$
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
            -- pg_partman 4 would analyze the whole table for one empty
            -- partition unless told not to; 5 has no such argument.
            EXECUTE format('SELECT %s.create_partition_time($1, $2%s)', partman_schema(),
                           CASE WHEN partman_major() = 4 THEN ', p_analyze := false' ELSE '' END)
                USING current_schema() || '.' || parent, ARRAY[night::timestamptz];
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
-- pg_partman forgets the tables; it goes too when nothing else uses it.
-- +goose StatementBegin
DO $$
DECLARE
    t         text;
    remaining integer;
BEGIN
    FOREACH t IN ARRAY night_partitioned_tables() LOOP
        EXECUTE format('DELETE FROM %s.part_config WHERE parent_table = $1', partman_schema()) USING current_schema() || '.' || t;
        EXECUTE format('DROP TABLE IF EXISTS %s.%I', partman_schema(), 'template_' || current_schema() || '_' || t);
    END LOOP;
    EXECUTE format('SELECT count(*) FROM %s.part_config', partman_schema()) INTO remaining;
    IF remaining = 0 THEN
        DROP EXTENSION pg_partman;
        DROP SCHEMA IF EXISTS partman;
    END IF;
END $$;
-- +goose StatementEnd
DROP FUNCTION partman_schema();
DROP FUNCTION partman_major();
