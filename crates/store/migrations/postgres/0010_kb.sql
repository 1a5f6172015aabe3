-- The knowledge base: categories (nested into sections), articles with their
-- versions and translations, and FAQ entries. Translations of one article (or one
-- FAQ entry) share a group id; one per language.
CREATE TABLE kb_categories (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    key          TEXT NOT NULL,
    parent_id    UUID REFERENCES kb_categories(id),
    position     BIGINT NOT NULL,
    names        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, key)
);

CREATE TABLE kb_articles (
    id                UUID PRIMARY KEY,
    workspace_id      UUID NOT NULL REFERENCES workspaces(id),
    group_id          UUID NOT NULL,
    lang              TEXT NOT NULL,
    category_id       UUID REFERENCES kb_categories(id),
    slug              TEXT NOT NULL,
    visibility        TEXT NOT NULL,
    status            TEXT NOT NULL,
    title             TEXT NOT NULL,
    body              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    published_version BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (workspace_id, group_id, lang)
);
CREATE INDEX kb_articles_ws ON kb_articles (workspace_id, lang, status);

CREATE TABLE kb_article_versions (
    article_id   UUID NOT NULL REFERENCES kb_articles(id),
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    version      BIGINT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    author_id    UUID,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (article_id, version)
);

CREATE TABLE kb_faq (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    group_id     UUID NOT NULL,
    lang         TEXT NOT NULL,
    category_id  UUID REFERENCES kb_categories(id),
    question     TEXT NOT NULL,
    phrasings    TEXT NOT NULL,
    answer       TEXT NOT NULL,
    article_id   UUID REFERENCES kb_articles(id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, group_id, lang)
);
