-- Owned by package pickup: H3 cells of pickup points and warehouse service areas.
-- +goose Up
-- A point's cell at resolution 9 (its H3 index as a bigint) and the parents at
-- 8 (delivery areas) and 7 (nearby search, service areas). The cells are
-- computed in Go by the store on every write; rows written before this
-- migration keep NULL until the index backfills them on its first load.
ALTER TABLE pickup_points
    ADD COLUMN h3_r9 bigint,
    ADD COLUMN h3_r8 bigint,
    ADD COLUMN h3_r7 bigint,
    -- The transaction that last wrote the row: every API process polls for rows
    -- written by transactions its last poll could not yet see, so an index
    -- never misses a point another process added (see pickup/h3index.go).
    ADD COLUMN written_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX pickup_points_written_xid ON pickup_points (written_xid);
CREATE INDEX pickup_points_h3_r7 ON pickup_points (h3_r7);

-- +goose StatementBegin
CREATE FUNCTION pickup_points_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.written_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER pickup_points_written BEFORE UPDATE ON pickup_points
    FOR EACH ROW EXECUTE FUNCTION pickup_points_written();

-- The resolution-7 cells a warehouse serves.
CREATE TABLE warehouse_service_cells (
    warehouse_id bigint NOT NULL REFERENCES warehouses(id),
    cell         bigint NOT NULL,
    PRIMARY KEY (warehouse_id, cell)
);
CREATE INDEX warehouse_service_cells_cell ON warehouse_service_cells (cell);

-- +goose Down
DROP TABLE warehouse_service_cells;
DROP TRIGGER pickup_points_written ON pickup_points;
DROP FUNCTION pickup_points_written();
ALTER TABLE pickup_points DROP COLUMN written_xid, DROP COLUMN h3_r7, DROP COLUMN h3_r8, DROP COLUMN h3_r9;
