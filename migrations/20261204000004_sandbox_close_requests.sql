-- Asking for a sandbox to be closed. The API never calls a provider: it
-- records the request here, and the reaper closes the sandbox at its next
-- pass that finds it unleased. The first request's time is kept.
-- Not indexed: the reaper scans only live rows (at most max_sandboxes),
-- and leaving the column out of every index keeps lease updates HOT.
ALTER TABLE sandboxes ADD COLUMN close_requested_at timestamptz;
