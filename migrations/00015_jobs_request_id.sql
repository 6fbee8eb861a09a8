-- Owned by internal/platform: the request that wrote a job, carried into
-- its asynq task (header request_id) so the worker's log lines of the task
-- name the request that started it.
-- +goose Up
ALTER TABLE jobs ADD COLUMN request_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE jobs DROP COLUMN request_id;
