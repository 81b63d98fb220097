-- The manifest in force for the sandbox's repository, fixed when it was
-- hydrated (hero.json as committed, or one generated then), so that an
-- agent editing hero.json in the working tree cannot change its own policy.
ALTER TABLE sandboxes ADD COLUMN manifest text;
