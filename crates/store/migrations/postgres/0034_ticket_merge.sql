-- A ticket merged into another is closed and points at it: its messages
-- moved there, and the customer's next message on its thread goes there too.
ALTER TABLE tickets ADD COLUMN merged_into UUID REFERENCES tickets(id);
