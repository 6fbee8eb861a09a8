-- Owned by package wave. The route stage's solver at work, one row per
-- wave: written from outside the stage's transaction at most once a second
-- while it solves, overwritten by a rerun, and marked finished when the
-- stage ends (committed or failed), so the wave's page can show it live.
-- +goose Up
CREATE TABLE wave_route_progress (
    wave_id       bigint PRIMARY KEY REFERENCES waves(id),
    sectors_done  integer NOT NULL,
    sectors_total integer NOT NULL,
    stops_served  integer NOT NULL,
    stops_total   integer NOT NULL,
    best_cost_fen bigint NOT NULL,
    seconds_left  integer NOT NULL,
    updated_at    timestamptz NOT NULL,
    finished_at   timestamptz
);

-- +goose Down
DROP TABLE wave_route_progress;
