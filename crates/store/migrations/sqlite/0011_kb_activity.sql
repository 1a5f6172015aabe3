-- What readers do in the help center: article views and searches summed per day
-- (day = days since 1970-01-01 UTC), and answers to "was this helpful?".
CREATE TABLE kb_views (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    article_id   BLOB NOT NULL REFERENCES kb_articles(id),
    day          INTEGER NOT NULL,
    views        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, article_id, day)
);

CREATE TABLE kb_votes (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    article_id   BLOB NOT NULL REFERENCES kb_articles(id),
    helpful      INTEGER NOT NULL,
    comment      TEXT,
    created_at   INTEGER NOT NULL
);
CREATE INDEX kb_votes_ws ON kb_votes (workspace_id, created_at);

-- A query is kept normalised (lower case, single spaces, at most 100 characters).
CREATE TABLE kb_searches (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    day          INTEGER NOT NULL,
    lang         TEXT NOT NULL,
    query        TEXT NOT NULL,
    searches     INTEGER NOT NULL,
    empty        INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, day, lang, query)
);

-- Images and files of articles (and the help center's logo), served publicly.
CREATE TABLE kb_media (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  BLOB,
    created_at   INTEGER NOT NULL
);
CREATE INDEX kb_media_sha ON kb_media (sha256);

-- The help center's look: an accent colour (#rrggbb) and a logo (a kb_media id).
CREATE TABLE help_settings (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces(id),
    color        TEXT,
    logo_id      BLOB,
    updated_at   INTEGER NOT NULL
);
