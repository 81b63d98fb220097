-- GitHub webhook deliveries Hero has accepted, to recognise a redelivery.
--
-- A delivery is recorded before its triggers run and finished after; one
-- whose first attempt died half-way is handled again when redelivered (its
-- jobs carry idempotency keys made from the delivery id, so nothing runs
-- twice). GitHub signs the body but not the headers, so a captured body
-- replayed under a new X-GitHub-Delivery is caught by its digest.
CREATE TABLE github_deliveries (
    delivery_id  text PRIMARY KEY,
    event        text NOT NULL,
    body_sha256  bytea NOT NULL CHECK (length(body_sha256) = 32),
    received_at  timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- What the delivery did (job and project ids, reasons), never the payload.
    report       jsonb,
    CONSTRAINT github_deliveries_body_key UNIQUE (body_sha256)
);
CREATE INDEX github_deliveries_received_idx ON github_deliveries (received_at);

-- What GitHub events do for a project: re-hydrate on a push to the default
-- branch, follow Hero's pull requests, run a job on a command or a label.
-- '{}' means the defaults (see WebhookTriggers).
ALTER TABLE projects ADD COLUMN webhook_triggers jsonb NOT NULL DEFAULT '{}'::jsonb;

-- Where a job came from when an event started it: a short summary of the
-- event (source, delivery, repository, number, sender), never its payload.
ALTER TABLE jobs ADD COLUMN context jsonb;
