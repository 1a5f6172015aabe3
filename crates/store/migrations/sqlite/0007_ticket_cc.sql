-- Addresses an agent confirmed as copies of a ticket's replies (a colleague of
-- the customer who wrote in on the thread). Nobody else receives a reply but
-- the ticket's customer. A JSON array of lower-cased addresses.
ALTER TABLE tickets ADD COLUMN cc TEXT NOT NULL DEFAULT '[]';
