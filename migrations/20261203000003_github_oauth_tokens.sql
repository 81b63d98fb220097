-- A user's GitHub OAuth tokens, from the IDE's web flow. Both are sealed
-- with AES-256-GCM like project secrets; the associated data names the user
-- and the token's role, so a ciphertext moved to another user, or from the
-- refresh column to the access column, does not open.
--
-- GitHub rotates both tokens on every refresh and the used refresh token
-- stops working at once, so a row is only ever rewritten whole, under a
-- row lock held across the refresh.
CREATE TABLE github_oauth_tokens (
    user_id              uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    access_ciphertext    bytea NOT NULL,
    access_nonce         bytea NOT NULL CHECK (length(access_nonce) = 12),
    access_key_version   integer NOT NULL REFERENCES encryption_keys (version),
    -- NULL when the app issues tokens that do not expire.
    access_expires_at    timestamptz,
    refresh_ciphertext   bytea,
    refresh_nonce        bytea CHECK (length(refresh_nonce) = 12),
    refresh_key_version  integer REFERENCES encryption_keys (version),
    refresh_expires_at   timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT github_oauth_tokens_refresh_whole CHECK (
        (refresh_ciphertext IS NULL) = (refresh_nonce IS NULL)
        AND (refresh_ciphertext IS NULL) = (refresh_key_version IS NULL)
    )
);
