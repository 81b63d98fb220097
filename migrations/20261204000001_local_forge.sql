-- The local forge's own pull requests: what GitHub keeps for a GitHub
-- repository, kept here for a bare repository under HERO_DATA_DIR/forge.
-- Numbers count up per repository; one open pull request per head branch,
-- so a retried submit finds the one it opened.
CREATE TABLE local_pull_requests (
    id          uuid PRIMARY KEY,
    repo_owner  text NOT NULL,
    repo_name   text NOT NULL,
    number      bigint NOT NULL CHECK (number > 0),
    title       text NOT NULL,
    body        text,
    head        text NOT NULL,
    base        text NOT NULL,
    draft       boolean NOT NULL DEFAULT false,
    state       text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed', 'merged')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT local_pull_requests_number_key UNIQUE (repo_owner, repo_name, number)
);

CREATE UNIQUE INDEX local_pull_requests_one_open_per_head
    ON local_pull_requests (repo_owner, repo_name, head) WHERE state = 'open';
