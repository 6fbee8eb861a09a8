-- Owned by package fulfillment/retention: the per-night detail tables become
-- partitioned by delivery date, one partition a night. A night is the unit
-- the business thinks in and the unit retention archives and drops, so a
-- partition is exactly one night; the hot paths (intake, allocation, pick,
-- receipt) name the date and touch one partition; at 90 days' retention a
-- table has about 120 partitions, which PostgreSQL 15 prunes at plan time.
--
-- Partitioned: order_lines, parcel_lines, sort_lines, printouts,
-- pickup_codes: the tables that grow with every line, parcel and bag of a
-- night, and the printouts (tens of MB a night). Kept whole: orders (the
-- idempotency key is unique per leader across dates, which an index of a
-- partitioned table cannot enforce), the outbox (its dedupe key likewise),
-- and the aggregates retention keeps (waves, refunds, commission, purchase
-- orders and statements).
--
-- Rows that outlive the detail (refunds, commission entries, line cuts and
-- anything else naming an order line) keep the line's id but no foreign key
-- to it: a key would forbid dropping the night. parcel_lines keeps its key
-- to its order line, by (id, delivery_date): both are dropped together.
-- +goose Up
-- The partitioned tables in the order their partitions are created (a
-- referenced table before the tables referencing it); dropped in reverse.
-- +goose StatementBegin
CREATE FUNCTION night_partitioned_tables() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['order_lines', 'parcel_lines', 'sort_lines', 'printouts', 'pickup_codes']
$$;
-- +goose StatementEnd

-- night_partition_name names a table's partition of a night: order_lines_p20261201.
-- +goose StatementBegin
CREATE FUNCTION night_partition_name(parent text, night date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT parent || '_p' || to_char(night, 'YYYYMMDD')
$$;
-- +goose StatementEnd

-- night_partitions_ensure creates the partitions of a night that do not
-- exist yet and returns how many it created. Concurrent callers queue on an
-- advisory lock, so each partition is created once.
-- +goose StatementBegin
CREATE FUNCTION night_partitions_ensure(night date) RETURNS integer LANGUAGE plpgsql AS $$
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

-- Every row of these tables belongs to a wave's night, so a wave brings its
-- partitions: a row never finds its partition missing, whatever the job
-- that creates them ahead has done. Usually they exist and this only looks.
-- +goose StatementBegin
CREATE FUNCTION waves_ensure_night_partitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM night_partitions_ensure(NEW.delivery_date);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The new tables take the old ones' columns (with any added since), defaults
-- and checks; keys and indexes are made after the copy, which is faster.
ALTER TABLE order_lines RENAME TO order_lines_unpartitioned;
ALTER TABLE parcel_lines RENAME TO parcel_lines_unpartitioned;
ALTER TABLE sort_lines RENAME TO sort_lines_unpartitioned;
ALTER TABLE printouts RENAME TO printouts_unpartitioned;
ALTER TABLE pickup_codes RENAME TO pickup_codes_unpartitioned;

CREATE TABLE order_lines (LIKE order_lines_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    delivery_date date NOT NULL) PARTITION BY RANGE (delivery_date);
CREATE TABLE parcel_lines (LIKE parcel_lines_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (delivery_date);
CREATE TABLE sort_lines (LIKE sort_lines_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    delivery_date date NOT NULL) PARTITION BY RANGE (delivery_date);
CREATE TABLE printouts (LIKE printouts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    delivery_date date NOT NULL) PARTITION BY RANGE (delivery_date);
CREATE TABLE pickup_codes (LIKE pickup_codes_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE (delivery_date);

SELECT night_partitions_ensure(d) FROM (
    SELECT delivery_date FROM waves UNION SELECT delivery_date FROM orders
    UNION SELECT delivery_date FROM parcel_lines_unpartitioned
    UNION SELECT delivery_date FROM pickup_codes_unpartitioned) AS n(d) ORDER BY d;

INSERT INTO order_lines SELECT l.*, o.delivery_date
    FROM order_lines_unpartitioned l JOIN orders o ON o.id = l.order_id;
INSERT INTO parcel_lines SELECT * FROM parcel_lines_unpartitioned;
INSERT INTO sort_lines SELECT s.*, w.delivery_date FROM sort_lines_unpartitioned s JOIN waves w ON w.id = s.wave_id;
INSERT INTO printouts SELECT p.*, w.delivery_date FROM printouts_unpartitioned p JOIN waves w ON w.id = p.wave_id;
INSERT INTO pickup_codes SELECT * FROM pickup_codes_unpartitioned;

-- The id sequence moves to the new table before the old one goes.
ALTER SEQUENCE order_lines_id_seq OWNED BY NONE;
DROP TABLE pickup_codes_unpartitioned, printouts_unpartitioned, sort_lines_unpartitioned,
    parcel_lines_unpartitioned, order_lines_unpartitioned CASCADE;
ALTER SEQUENCE order_lines_id_seq OWNED BY order_lines.id;

ALTER TABLE order_lines
    ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id, delivery_date),
    ADD CONSTRAINT order_lines_order_id_sale_item_id_key UNIQUE (order_id, sale_item_id, delivery_date),
    ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id),
    ADD CONSTRAINT order_lines_sale_item_id_fkey FOREIGN KEY (sale_item_id) REFERENCES sale_items (id);
CREATE INDEX order_lines_sale_item ON order_lines (sale_item_id);

ALTER TABLE parcel_lines
    ADD CONSTRAINT parcel_lines_pkey PRIMARY KEY (order_line_id, delivery_date),
    ADD CONSTRAINT parcel_lines_order_line_fkey FOREIGN KEY (order_line_id, delivery_date)
        REFERENCES order_lines (id, delivery_date),
    ADD CONSTRAINT parcel_lines_delivery_id_fkey FOREIGN KEY (delivery_id) REFERENCES deliveries (id);
CREATE INDEX parcel_lines_resident ON parcel_lines (pickup_point_id, resident_id);
CREATE INDEX parcel_lines_waiting ON parcel_lines (delivery_date) WHERE state = 'ready';

ALTER TABLE sort_lines
    ADD CONSTRAINT sort_lines_pkey PRIMARY KEY (wave_id, sale_item_id, pickup_point_id, delivery_date);
CREATE INDEX sort_lines_point ON sort_lines (wave_id, pickup_point_id);

ALTER TABLE printouts
    ADD CONSTRAINT printouts_pkey PRIMARY KEY (wave_id, kind, scope, format, delivery_date),
    ADD CONSTRAINT printouts_wave_id_fkey FOREIGN KEY (wave_id) REFERENCES waves (id);

ALTER TABLE pickup_codes
    ADD CONSTRAINT pickup_codes_pkey PRIMARY KEY (pickup_point_id, delivery_date, resident_id),
    ADD CONSTRAINT pickup_codes_pickup_point_id_code_delivery_date_key UNIQUE (pickup_point_id, code, delivery_date),
    ADD CONSTRAINT pickup_codes_pickup_point_id_fkey FOREIGN KEY (pickup_point_id) REFERENCES pickup_points (id),
    ADD CONSTRAINT pickup_codes_resident_at_point FOREIGN KEY (resident_id, pickup_point_id)
        REFERENCES residents (id, pickup_point_id);

CREATE TRIGGER waves_ensure_night_partitions AFTER INSERT ON waves
    FOR EACH ROW EXECUTE FUNCTION waves_ensure_night_partitions();

-- What retention archived: one row per table and night, written in the
-- transaction that drops the partition, so a night is either still in its
-- partition or in its file, never neither and never both.
CREATE TABLE archived_partitions (
    parent        text NOT NULL,
    delivery_date date NOT NULL,
    file          text NOT NULL,          -- relative to GROUPBUY_ARCHIVE_DIR
    columns       text[] NOT NULL,        -- the file's columns, in order (COPY text format)
    rows          bigint NOT NULL,
    bytes         bigint NOT NULL,        -- of the compressed file
    sha256        text NOT NULL,          -- of the compressed file
    archived_at   timestamptz NOT NULL,
    PRIMARY KEY (parent, delivery_date)
);

-- +goose Down
-- Back to plain tables: the archived nights stay in their files.
DROP TABLE archived_partitions;
DROP TRIGGER waves_ensure_night_partitions ON waves;
DROP FUNCTION waves_ensure_night_partitions();

ALTER TABLE order_lines RENAME TO order_lines_partitioned;
ALTER TABLE parcel_lines RENAME TO parcel_lines_partitioned;
ALTER TABLE sort_lines RENAME TO sort_lines_partitioned;
ALTER TABLE printouts RENAME TO printouts_partitioned;
ALTER TABLE pickup_codes RENAME TO pickup_codes_partitioned;

CREATE TABLE order_lines AS SELECT id, order_id, sale_item_id, quantity, price_fen FROM order_lines_partitioned;
CREATE TABLE parcel_lines AS SELECT * FROM parcel_lines_partitioned;
CREATE TABLE sort_lines AS SELECT wave_id, sale_item_id, pickup_point_id, zone, quantity FROM sort_lines_partitioned;
CREATE TABLE printouts AS SELECT wave_id, kind, scope, format, content, sha256, created_at FROM printouts_partitioned;
CREATE TABLE pickup_codes AS SELECT * FROM pickup_codes_partitioned;

ALTER SEQUENCE order_lines_id_seq OWNED BY NONE;
DROP TABLE pickup_codes_partitioned, printouts_partitioned, sort_lines_partitioned,
    parcel_lines_partitioned, order_lines_partitioned CASCADE;
DROP FUNCTION night_partitions_ensure(date);
DROP FUNCTION night_partition_name(text, date);
DROP FUNCTION night_partitioned_tables();

ALTER TABLE order_lines
    ALTER COLUMN id SET DEFAULT nextval('order_lines_id_seq'),
    ALTER COLUMN id SET NOT NULL, ALTER COLUMN order_id SET NOT NULL, ALTER COLUMN sale_item_id SET NOT NULL,
    ALTER COLUMN quantity SET NOT NULL, ALTER COLUMN price_fen SET NOT NULL,
    ADD PRIMARY KEY (id), ADD UNIQUE (order_id, sale_item_id),
    ADD CHECK (quantity > 0), ADD CHECK (price_fen >= 0),
    ADD FOREIGN KEY (order_id) REFERENCES orders (id), ADD FOREIGN KEY (sale_item_id) REFERENCES sale_items (id);
ALTER SEQUENCE order_lines_id_seq OWNED BY order_lines.id;
CREATE INDEX order_lines_sale_item ON order_lines (sale_item_id);
ALTER TABLE line_cuts ADD FOREIGN KEY (order_line_id) REFERENCES order_lines (id);
ALTER TABLE refunds ADD FOREIGN KEY (order_line_id) REFERENCES order_lines (id);
ALTER TABLE commission_entries ADD FOREIGN KEY (order_line_id) REFERENCES order_lines (id);
ALTER TABLE aftersale_claims ADD FOREIGN KEY (order_line_id) REFERENCES order_lines (id);

ALTER TABLE parcel_lines
    ALTER COLUMN order_line_id SET NOT NULL, ALTER COLUMN delivery_id SET NOT NULL,
    ALTER COLUMN pickup_point_id SET NOT NULL, ALTER COLUMN resident_id SET NOT NULL,
    ALTER COLUMN delivery_date SET NOT NULL, ALTER COLUMN ready SET NOT NULL,
    ALTER COLUMN state SET NOT NULL, ALTER COLUMN state SET DEFAULT 'ready', ALTER COLUMN ready_at SET NOT NULL,
    ADD PRIMARY KEY (order_line_id), ADD CHECK (ready > 0),
    ADD CHECK (state IN ('ready', 'collected', 'returned')),
    ADD FOREIGN KEY (order_line_id) REFERENCES order_lines (id),
    ADD FOREIGN KEY (delivery_id) REFERENCES deliveries (id);
CREATE INDEX parcel_lines_resident ON parcel_lines (pickup_point_id, resident_id);
CREATE INDEX parcel_lines_waiting ON parcel_lines (delivery_date) WHERE state = 'ready';

ALTER TABLE sort_lines
    ALTER COLUMN wave_id SET NOT NULL, ALTER COLUMN sale_item_id SET NOT NULL,
    ALTER COLUMN pickup_point_id SET NOT NULL, ALTER COLUMN zone SET NOT NULL, ALTER COLUMN quantity SET NOT NULL,
    ADD PRIMARY KEY (wave_id, sale_item_id, pickup_point_id), ADD CHECK (quantity > 0);
CREATE INDEX sort_lines_point ON sort_lines (wave_id, pickup_point_id);

ALTER TABLE printouts
    ALTER COLUMN wave_id SET NOT NULL, ALTER COLUMN kind SET NOT NULL, ALTER COLUMN scope SET NOT NULL,
    ALTER COLUMN format SET NOT NULL, ALTER COLUMN content SET NOT NULL, ALTER COLUMN sha256 SET NOT NULL,
    ALTER COLUMN created_at SET NOT NULL,
    ADD PRIMARY KEY (wave_id, kind, scope, format), ADD CHECK (format IN ('pdf', 'csv')),
    ADD FOREIGN KEY (wave_id) REFERENCES waves (id);

ALTER TABLE pickup_codes
    ALTER COLUMN pickup_point_id SET NOT NULL, ALTER COLUMN delivery_date SET NOT NULL,
    ALTER COLUMN resident_id SET NOT NULL, ALTER COLUMN code SET NOT NULL, ALTER COLUMN created_at SET NOT NULL,
    ADD PRIMARY KEY (pickup_point_id, delivery_date, resident_id),
    ADD UNIQUE (pickup_point_id, code, delivery_date), ADD CHECK (code ~ '^[0-9]{6}$'),
    ADD FOREIGN KEY (pickup_point_id) REFERENCES pickup_points (id),
    ADD CONSTRAINT pickup_codes_resident_at_point FOREIGN KEY (resident_id, pickup_point_id)
        REFERENCES residents (id, pickup_point_id);
