-- API keys: who may read (viewer), correct counts and alerts (operator), or
-- manage configuration and keys (admin). Only an argon2 hash of each key's
-- secret is stored; the key itself is shown once, when it is created.

CREATE TABLE IF NOT EXISTS api_keys (
    key_id       text        PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    secret_hash  text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text
);
