-- Uploads that no message took are collected after a day: find them by age, and
-- find whether anything else still points at their bytes before a blob goes.
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_sha ON attachments (sha256);
CREATE INDEX channel_messages_raw ON channel_messages (raw_sha256) WHERE raw_sha256 IS NOT NULL;
CREATE INDEX held_messages_raw ON held_messages (raw_sha256);
