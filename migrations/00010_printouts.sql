-- Owned by package fulfillment: rendered printouts of a wave, kept so a
-- reprint is instant and byte-identical. Derived from the pick and route
-- plan; the stages that rebuild the plan delete them in the same transaction.
-- +goose Up
CREATE TABLE printouts (
    wave_id    bigint NOT NULL REFERENCES waves(id),
    kind       text NOT NULL,           -- pick-list, sort-sheet, labels, route-sheet
    scope      text NOT NULL,           -- '' (whole wave), a zone or a route code
    format     text NOT NULL CHECK (format IN ('pdf', 'csv')),
    content    bytea NOT NULL,
    sha256     text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (wave_id, kind, scope, format)
);

-- +goose Down
DROP TABLE printouts;
