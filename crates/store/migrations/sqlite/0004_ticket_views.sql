-- The inbox sorts by urgency and by last change; these indexes let a page of 50 be
-- read in order instead of sorting every open ticket. The expression must match
-- `Sort::Priority` in tickets.rs exactly.
CREATE INDEX tickets_ws_urgency ON tickets (workspace_id, (CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END), id);
CREATE INDEX tickets_ws_updated ON tickets (workspace_id, updated_at, id);
-- Covers every column the inbox's view counts read, so counting 10,000 open
-- tickets reads the index and not the rows.
CREATE INDEX tickets_ws_views ON tickets (workspace_id, status, assignee_id, team_id, solved_at);
