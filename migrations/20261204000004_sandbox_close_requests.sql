-- Asking for a sandbox to be closed. The API never calls a provider: it
-- records the request here, and the reaper closes the sandbox at its next
-- pass that finds it unleased. The first request's time is kept.
-- Not indexed: the reaper scans only live rows (at most max_sandboxes),
-- and leaving the column out of every index keeps lease updates HOT.
ALTER TABLE sandboxes ADD COLUMN close_requested_at timestamptz;

-- Whether the project's jobs may push to its default branch; off, so an
-- agent's work reaches the default branch through a pull request only.
ALTER TABLE projects ADD COLUMN allow_default_branch_push boolean NOT NULL DEFAULT false;
