-- Chat visitors: one browser (or app install) talking through a widget (a
-- channel account of kind chat). token_hash: SHA-256 of the visitor's token,
-- which only the visitor holds. customer_id: who they are to agents (anonymous
-- until they give an address or a verified user id). external_user_id: the
-- site's own id for the visitor, when the site vouched for it (HMAC).
CREATE TABLE chat_visitors (
    id               UUID PRIMARY KEY,
    workspace_id     UUID NOT NULL REFERENCES workspaces(id),
    account_id       UUID NOT NULL REFERENCES channel_accounts(id),
    customer_id      UUID NOT NULL REFERENCES customers(id),
    token_hash       BYTEA NOT NULL UNIQUE,
    name             TEXT,
    email            TEXT,
    phone            TEXT,
    lang             TEXT,
    external_user_id TEXT,
    page_url         TEXT,
    page_title       TEXT,
    last_seen_at     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX chat_visitors_customer ON chat_visitors (workspace_id, customer_id);

-- A visitor's conversations are the tickets their messages went to: found by
-- the account and the sender recorded with each message.
CREATE INDEX channel_messages_sender ON channel_messages (account_id, address, created_at);
