-- Owned by internal/platform: the job outbox. A command writes the asynq
-- tasks it starts in its own transaction; a relay enqueues them after the
-- commit (and again whenever Redis was unreachable), so a committed change
-- never loses the job that follows it.
-- +goose Up
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    task_type    text NOT NULL,
    payload      bytea NOT NULL,
    task_id      text NOT NULL UNIQUE,   -- the asynq TaskID: a second enqueue collapses into the first
    queue        text NOT NULL,
    max_retry    integer,                -- asynq options; NULL: asynq's default
    timeout_ms   bigint,
    retention_ms bigint,
    created_at   timestamptz NOT NULL,
    enqueued_at  timestamptz             -- NULL until the relay has handed it to Redis
);
CREATE INDEX jobs_pending ON jobs (id) WHERE enqueued_at IS NULL;
CREATE INDEX jobs_enqueued ON jobs (enqueued_at) WHERE enqueued_at IS NOT NULL;

-- +goose Down
DROP TABLE jobs;
