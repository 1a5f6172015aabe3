-- The knowledge base: categories (nested into sections), articles with their
-- versions and translations, and FAQ entries. Translations of one article (or one
-- FAQ entry) share a group id; one per language.
CREATE TABLE kb_categories (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    parent_id    BLOB REFERENCES kb_categories(id),
    position     INTEGER NOT NULL,
    names        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE kb_articles (
    id                BLOB PRIMARY KEY,
    workspace_id      BLOB NOT NULL REFERENCES workspaces(id),
    group_id          BLOB NOT NULL,
    lang              TEXT NOT NULL,
    category_id       BLOB REFERENCES kb_categories(id),
    slug              TEXT NOT NULL,
    visibility        TEXT NOT NULL,
    status            TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    published_version INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (workspace_id, group_id, lang)
);
CREATE INDEX kb_articles_ws ON kb_articles (workspace_id, lang, status);

CREATE TABLE kb_article_versions (
    article_id   BLOB NOT NULL REFERENCES kb_articles(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    author_id    BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (article_id, version)
);

CREATE TABLE kb_faq (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    group_id     BLOB NOT NULL,
    lang         TEXT NOT NULL,
    category_id  BLOB REFERENCES kb_categories(id),
    question     TEXT NOT NULL,
    phrasings    TEXT NOT NULL,
    answer       TEXT NOT NULL,
    article_id   BLOB REFERENCES kb_articles(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (workspace_id, group_id, lang)
);
