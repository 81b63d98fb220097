-- Batches: one job kind over many projects, accepted in one request (an
-- operator migrating a fleet of repositories). A batch is a label on its
-- jobs; its progress is counted from them, never kept twice.
CREATE TABLE batches (
    id                uuid PRIMARY KEY,
    owner_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('hydrate', 'run_tool', 'sync', 'submit_pr')),
    params            jsonb NOT NULL,
    -- Jobs created with the batch. A project deleted since takes its job
    -- with it, so the live counts may add up to less.
    total             integer NOT NULL CHECK (total > 0),
    idempotency_key   text,
    -- SHA-256 of which projects were asked for (every one, or the sorted
    -- list), so that a replayed key with other projects is a conflict.
    selection_digest  bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX batches_idempotency_key
    ON batches (owner_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Listing a user's batches, newest first (ids are time-ordered).
CREATE INDEX batches_by_owner ON batches (owner_id, id DESC);

ALTER TABLE jobs ADD COLUMN batch_id uuid REFERENCES batches (id) ON DELETE CASCADE;

-- A batch's counts by status, and its failures in acceptance order.
CREATE INDEX jobs_by_batch ON jobs (batch_id, status, seq) WHERE batch_id IS NOT NULL;

-- The dispatcher counts batch jobs in flight on every claim that could
-- take one; this keeps that count to the few rows it covers.
CREATE INDEX jobs_batch_in_flight ON jobs (batch_id)
    WHERE batch_id IS NOT NULL AND status IN ('dispatched', 'running');
