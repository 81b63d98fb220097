-- Pull requests Hero opened, on GitHub or on the local forge. For the local
-- forge this row is the pull request; for GitHub it records what the
-- submit_pr job got back. One open pull request per head branch, so a
-- retried submit finds the one it opened.
CREATE TABLE pull_requests (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    forge       text NOT NULL,
    number      bigint NOT NULL,
    url         text NOT NULL,
    title       text NOT NULL,
    head        text NOT NULL,
    base        text NOT NULL,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'merged')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pull_requests_number_key UNIQUE (project_id, forge, number)
);

CREATE UNIQUE INDEX pull_requests_one_open_per_head
    ON pull_requests (project_id, forge, head) WHERE state = 'open';
