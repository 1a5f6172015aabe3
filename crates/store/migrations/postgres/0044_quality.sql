-- Quality review (domain::quality): scorecards of weighted criteria, one
-- reviewer's scores of one conversation on one scorecard (a second review
-- replaces the first), and the conversations drawn at random for review.
CREATE TABLE scorecards (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    spec         TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX scorecards_ws ON scorecards (workspace_id, id);

CREATE TABLE reviews (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    agent_id     UUID NOT NULL REFERENCES users(id),
    reviewer_id  UUID NOT NULL REFERENCES users(id),
    scorecard_id UUID NOT NULL REFERENCES scorecards(id),
    scores       TEXT NOT NULL,
    -- The score 0–100 in thousandths, so sums stay integers on both databases.
    score_milli  BIGINT NOT NULL,
    comment      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX reviews_one ON reviews (ticket_id, reviewer_id, scorecard_id);
CREATE INDEX reviews_ticket ON reviews (workspace_id, ticket_id);
CREATE INDEX reviews_made ON reviews (workspace_id, created_at);

CREATE TABLE review_samples (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    ticket_id    UUID NOT NULL REFERENCES tickets(id),
    agent_id     UUID NOT NULL REFERENCES users(id),
    drawn_by     UUID NOT NULL REFERENCES users(id),
    drawn_at     BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, ticket_id)
);
CREATE INDEX review_samples_drawn ON review_samples (workspace_id, drawn_at);
