-- Owned by package fulfillment: the nightly wave of each (warehouse, delivery date).
-- +goose Up
CREATE TABLE waves (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouses(id),
    delivery_date date NOT NULL,
    state         text NOT NULL DEFAULT 'open' CHECK (state IN
                  ('open', 'closed', 'allocated', 'picked', 'routed', 'ready', 'dispatched', 'delivered')),
    cutoff_at     timestamptz NOT NULL,    -- the warehouse's cutoff local time on the day before, as an instant
    closed_at     timestamptz,
    orders        integer NOT NULL DEFAULT 0, -- totals frozen at close
    lines         integer NOT NULL DEFAULT 0,
    units         bigint NOT NULL DEFAULT 0,
    amount_fen    bigint NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (warehouse_id, delivery_date)
);
CREATE INDEX waves_open_cutoff ON waves (cutoff_at) WHERE state = 'open';

-- One row per (wave, stage): the stage's history of attempts.
CREATE TABLE wave_stages (
    wave_id     bigint NOT NULL REFERENCES waves(id),
    stage       text NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    started_at  timestamptz,
    finished_at timestamptz,
    rows_done   bigint NOT NULL DEFAULT 0,
    rows_total  bigint NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    PRIMARY KEY (wave_id, stage)
);

-- Sale items published before waves existed get their wave.
INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at)
SELECT DISTINCT si.warehouse_id, si.delivery_date,
       ((si.delivery_date - 1) + w.cutoff_local) AT TIME ZONE w.time_zone, now(), now()
FROM sale_items si JOIN warehouses w ON w.id = si.warehouse_id;

-- +goose Down
DROP TABLE wave_stages;
DROP TABLE waves;
