-- Sandboxes and their leases. A worker must hold a sandbox's lease to
-- touch it; every acquire bumps the fencing token, and writes that depend
-- on the lease check it, so a worker that lost its lease cannot overwrite.
CREATE TABLE sandboxes (
    id                uuid PRIMARY KEY,
    project_id        uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    provider          text NOT NULL,
    provider_id       text,
    state             text NOT NULL
                      CHECK (state IN ('starting', 'ready', 'closing', 'closed', 'failed')),
    -- One of max_sandboxes numbered places; a unique index over the rows
    -- that may still exist at the provider enforces the cap.
    slot              integer NOT NULL CHECK (slot >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    last_active_at    timestamptz NOT NULL DEFAULT now(),
    closed_at         timestamptz,
    hydrated_commit   text,
    lease_holder      text,
    fencing_token     bigint NOT NULL DEFAULT 0,
    lease_expires_at  timestamptz,
    error             text
);

-- A project has at most one sandbox in use.
CREATE UNIQUE INDEX sandboxes_one_live_per_project
    ON sandboxes (project_id) WHERE state IN ('starting', 'ready', 'closing');

-- A failed sandbox keeps its slot until it is known to be destroyed.
CREATE UNIQUE INDEX sandboxes_slot_taken
    ON sandboxes (slot) WHERE state IN ('starting', 'ready', 'closing', 'failed');

-- No index covers a column that acquire, heartbeat or release write
-- (holder, token, expiry, activity): their updates stay HOT, which the
-- lease benchmark shows matters. The idle and LRU scans read only live
-- rows, at most max_sandboxes of them, through the partial indexes.
