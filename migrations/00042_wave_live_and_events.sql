-- Owned by package wave. An open wave's totals kept current as orders come
-- and go: each order transaction adds to one of a few stripe rows, chosen at
-- random, so concurrent batches seldom wait on one row, and a read sums the
-- stripes instead of scanning the lines. The close freezes the totals on
-- the wave's row as before.
-- +goose Up
CREATE TABLE wave_live_totals (
    wave_id    bigint NOT NULL REFERENCES waves(id),
    stripe     smallint NOT NULL,
    orders     bigint NOT NULL,
    lines      bigint NOT NULL,
    units      bigint NOT NULL,
    amount_fen bigint NOT NULL,
    PRIMARY KEY (wave_id, stripe)
);
-- The open waves' orders so far, on stripe 0.
INSERT INTO wave_live_totals (wave_id, stripe, orders, lines, units, amount_fen)
SELECT w.id, 0, count(DISTINCT o.id), count(l.id), coalesce(sum(l.quantity), 0), coalesce(sum(l.quantity * l.price_fen), 0)
FROM waves w JOIN orders o ON o.warehouse_id = w.warehouse_id AND o.delivery_date = w.delivery_date AND o.status = 'placed'
JOIN order_lines l ON l.order_id = o.id
WHERE w.state = 'open' GROUP BY w.id;

-- The wave's timeline: who did what when. Rows are appended in the
-- transaction of the command that did it, and never changed.
CREATE TABLE wave_events (
    id         bigserial PRIMARY KEY,
    wave_id    bigint NOT NULL REFERENCES waves(id),
    at         timestamptz NOT NULL,
    kind       text NOT NULL,
    stage      text NOT NULL DEFAULT '',
    actor      text NOT NULL DEFAULT '',  -- the token's role and name; '' for the system (cutoff, the worker)
    detail     text NOT NULL DEFAULT '',
    request_id text NOT NULL DEFAULT ''
);
CREATE INDEX wave_events_wave ON wave_events (wave_id, at, id);

-- +goose Down
DROP TABLE wave_events;
DROP TABLE wave_live_totals;
