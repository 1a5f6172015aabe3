-- Custom fields are ordered by admins and archived rather than deleted: an
-- archived field keeps the values tickets have but takes no new ones and
-- blocks no solve.
ALTER TABLE custom_fields ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE custom_fields ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE;
