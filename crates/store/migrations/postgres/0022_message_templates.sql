-- A reply sent as a messenger's approved template (WhatsApp outside its
-- 24-hour window): the template's name, language and parameters as JSON.
CREATE TABLE message_templates (
    message_id    UUID PRIMARY KEY REFERENCES messages(id),
    workspace_id  UUID NOT NULL REFERENCES workspaces(id),
    template      TEXT NOT NULL
);
