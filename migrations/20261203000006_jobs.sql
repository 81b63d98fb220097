-- Jobs: Postgres is the record, Redis only carries a job's id to a worker.
-- A job is queued, then dispatched (pushed to its apalis queue), then
-- running (a worker holds the project's sandbox lease), then it ends as
-- succeeded, failed or cancelled. A transient failure puts it back to
-- queued with run_after in the future.
CREATE TABLE jobs (
    id                uuid PRIMARY KEY,
    -- Acceptance order: per project, jobs run in this order.
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('hydrate', 'run_tool', 'sync', 'submit_pr')),
    params            jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled')),
    attempt           integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL CHECK (max_attempts > 0),
    -- Bumped by every push to Redis; the queue message carries it, so a
    -- stale or duplicated message is recognised and dropped.
    dispatch          integer NOT NULL DEFAULT 0,
    run_after         timestamptz NOT NULL DEFAULT now(),
    cancel_requested  boolean NOT NULL DEFAULT false,
    idempotency_key   text,
    execution_id      text,
    agent_id          text,
    result            jsonb,
    error             jsonb,
    -- The worker running the job and the sandbox lease it holds; a result
    -- is written only while that lease is still the sandbox's.
    worker            text,
    fencing_token     bigint,
    created_at        timestamptz NOT NULL DEFAULT now(),
    dispatched_at     timestamptz,
    started_at        timestamptz,
    finished_at       timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX jobs_idempotency_key
    ON jobs (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- The dispatcher's scan: each project's unfinished jobs in order.
CREATE INDEX jobs_unfinished ON jobs (project_id, seq)
    WHERE status IN ('queued', 'dispatched', 'running');

-- Per-project FIFO, enforced: at most one job of a project in flight.
CREATE UNIQUE INDEX jobs_one_in_flight ON jobs (project_id)
    WHERE status IN ('dispatched', 'running');

CREATE INDEX jobs_by_project ON jobs (project_id, seq DESC);

-- Every status change is announced, so that waiting clients, dispatchers
-- and cancellation listeners wake at once instead of polling.
CREATE FUNCTION jobs_notify_status() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('hero_job_status', json_build_object(
        'id', NEW.id,
        'project_id', NEW.project_id,
        'status', NEW.status,
        'cancel_requested', NEW.cancel_requested
    )::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER jobs_status_changed
    AFTER UPDATE OF status, cancel_requested ON jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.cancel_requested IS DISTINCT FROM NEW.cancel_requested)
    EXECUTE FUNCTION jobs_notify_status();
