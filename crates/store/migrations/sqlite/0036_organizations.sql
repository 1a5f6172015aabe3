-- Companies customers belong to, with their own notes and fields. A domain
-- names one organisation per workspace: a customer whose email address is at
-- it joins that organisation (when they have none yet).
CREATE TABLE organizations (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    -- The name folded for uniqueness and search.
    name_key      TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    custom_fields TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (workspace_id, name_key)
);
CREATE TABLE organization_domains (
    workspace_id    BLOB NOT NULL REFERENCES workspaces(id),
    domain          TEXT NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations(id),
    PRIMARY KEY (workspace_id, domain)
);
CREATE INDEX organization_domains_org ON organization_domains (workspace_id, organization_id);
ALTER TABLE customers ADD COLUMN organization_id BLOB REFERENCES organizations(id);
ALTER TABLE customers ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{}';
CREATE INDEX customers_organization ON customers (workspace_id, organization_id);
-- What a custom field describes: a ticket, a customer or an organisation.
ALTER TABLE custom_fields ADD COLUMN applies_to TEXT NOT NULL DEFAULT 'ticket';
