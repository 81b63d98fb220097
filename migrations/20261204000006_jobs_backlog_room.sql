-- The room left in a kind's Redis backlog: how many more of its jobs may
-- be dispatched before `bound` are waiting there. Every claim calls it
-- inside its own statement, so bounding the backlog costs no round trip.
--
-- The lock makes claims of one kind count one after another; it is held
-- until the claim commits. The count runs in a VOLATILE function, so it
-- reads a snapshot taken after the lock was granted and sees the claims
-- committed while it waited (a subquery of the claim statement would read
-- the statement's older snapshot, and two claims could fill one place).
CREATE FUNCTION jobs_backlog_room(job_kind text, bound bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('hero:backlog:' || job_kind, 0));
    RETURN bound - (SELECT count(*) FROM jobs WHERE status = 'dispatched' AND kind = job_kind);
END;
$$;

-- What that count reads: at most the bound per kind, however many jobs wait.
CREATE INDEX jobs_dispatched ON jobs (kind) WHERE status = 'dispatched';
