-- A customer's tags (JSON list, normalised like ticket tags): segments such as
-- `vip`, which SLA policies and, later, rules and reports select by.
ALTER TABLE customers ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
