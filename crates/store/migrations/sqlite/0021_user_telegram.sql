-- An agent's Telegram chat for notifications, linked by sending the bot a
-- one-time code: the bot (channel account) and the chat it talks to them in.
CREATE TABLE user_telegram (
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    user_id       BLOB PRIMARY KEY REFERENCES users(id),
    account_id    BLOB NOT NULL REFERENCES channel_accounts(id),
    chat_id       INTEGER NOT NULL,
    linked_at     INTEGER NOT NULL
);
CREATE INDEX user_telegram_ws ON user_telegram (workspace_id);
