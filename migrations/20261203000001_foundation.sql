-- People who own projects. Authentication is by API token only.
CREATE TABLE users (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_name_key UNIQUE (name)
);

-- Bearer tokens. Only a SHA-256 hash is stored: a token is 256 random bits,
-- so a slow password hash would add latency to every request and no safety.
CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL,
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- A project links a user's work to one GitHub repository.
CREATE TABLE projects (
    id                      uuid PRIMARY KEY,
    owner_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                    text NOT NULL,
    repo_owner              text NOT NULL,
    repo_name               text NOT NULL,
    github_installation_id  bigint,
    default_branch          text NOT NULL DEFAULT 'main',
    use_cloud_sandbox       boolean NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_owner_name_key UNIQUE (owner_id, name)
);
CREATE INDEX projects_repo_idx ON projects (lower(repo_owner), lower(repo_name));

-- Master keys that have encrypted something, known only by a fingerprint
-- (an HMAC of a fixed label under the key), so that each row can name the
-- key that sealed it without the key itself ever touching the database.
CREATE TABLE encryption_keys (
    version      serial PRIMARY KEY,
    fingerprint  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT encryption_keys_fingerprint_key UNIQUE (fingerprint)
);

-- Project secrets, sealed with AES-256-GCM. The project id and key are the
-- associated data, so a ciphertext copied into another row does not open.
CREATE TABLE project_secrets (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    key          text NOT NULL,
    ciphertext   bytea NOT NULL,
    nonce        bytea NOT NULL CHECK (length(nonce) = 12),
    key_version  integer NOT NULL REFERENCES encryption_keys (version),
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_secrets_project_key_key UNIQUE (project_id, key)
);
CREATE INDEX project_secrets_key_version_idx ON project_secrets (key_version);

-- Who did what to which project. Secret reads are recorded here.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    project_id  uuid,
    action      text NOT NULL,
    subject     text,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_project_idx ON audit_log (project_id, at);
