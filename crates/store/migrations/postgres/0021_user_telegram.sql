-- An agent's Telegram chat for notifications, linked by sending the bot a
-- one-time code: the bot (channel account) and the chat it talks to them in.
CREATE TABLE user_telegram (
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    user_id       UUID PRIMARY KEY REFERENCES users(id),
    account_id    UUID NOT NULL REFERENCES channel_accounts(id),
    chat_id       BIGINT NOT NULL,
    linked_at     BIGINT NOT NULL
);
CREATE INDEX user_telegram_ws ON user_telegram (workspace_id);
