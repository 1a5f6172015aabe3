-- Routing: a team's way of giving out tickets (manual, round_robin,
-- least_loaded, skills), how long a ticket waits on an agent who went offline
-- before it goes back to the queue, and the team an escalation goes to.
ALTER TABLE teams ADD COLUMN routing TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE teams ADD COLUMN reroute_after_s BIGINT;
ALTER TABLE teams ADD COLUMN escalate_to UUID REFERENCES teams(id);

-- An agent's capacity per channel (JSON: channel → tickets at once; the
-- `capacity` column covers the channels not listed), when a page of theirs was
-- last seen open (presence follows it), and when routing last gave them a
-- ticket (round robin goes to whoever waited longest).
ALTER TABLE users ADD COLUMN channel_capacity TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN presence_seen_at BIGINT;
ALTER TABLE users ADD COLUMN routed_at BIGINT NOT NULL DEFAULT 0;

-- Each agent's load (open tickets per channel) and a team's waiting queue.
CREATE INDEX tickets_ws_load ON tickets (workspace_id, assignee_id, status, channel);
