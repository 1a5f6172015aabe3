-- Custom fields are ordered by admins and archived rather than deleted: an
-- archived field keeps the values tickets have but takes no new ones and
-- blocks no solve.
ALTER TABLE custom_fields ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
ALTER TABLE custom_fields ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
