-- A ticket an agent snoozed waits (pending) until this moment, then opens
-- again; a customer's reply or a status change ends the snooze sooner.
ALTER TABLE tickets ADD COLUMN snoozed_until INTEGER;
