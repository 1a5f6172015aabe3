-- A customer whose personal data was erased on request: the profile stays,
-- empty, so that what is counted about them (tickets, orders, touchpoints,
-- scores) keeps its customer; nothing new attaches to it.
ALTER TABLE customers ADD COLUMN erased_at INTEGER;
