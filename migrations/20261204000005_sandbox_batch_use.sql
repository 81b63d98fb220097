-- Whether the last job a sandbox ran was part of a batch. At capacity the
-- sandboxes batch work left behind are closed before an agent's, so that a
-- migration of many projects never takes an interactive session's
-- sandbox while it has its own to give up. Not indexed: release writes it,
-- and release stays a HOT update.
ALTER TABLE sandboxes ADD COLUMN last_used_by_batch boolean NOT NULL DEFAULT false;
