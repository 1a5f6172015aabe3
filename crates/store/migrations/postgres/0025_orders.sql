-- Orders as stores push them: one row per order, upserted on the store's id.
-- Line items, the status history and shipments (with their events) are JSON
-- documents of the row, so an upsert touches one row. `number` is what the
-- customer calls the order (found in their messages); `version` counts changes.
CREATE TABLE orders (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    customer_id  UUID NOT NULL REFERENCES customers(id),
    external_id  TEXT NOT NULL,
    number       TEXT NOT NULL,
    status       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    total        TEXT NOT NULL,
    placed_at    BIGINT NOT NULL,
    items        TEXT NOT NULL,
    shipments    TEXT NOT NULL,
    history      TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX orders_customer ON orders (workspace_id, customer_id, placed_at);
CREATE INDEX orders_number ON orders (workspace_id, number);

-- A store's connection for pushing orders to `/hooks/store/{id}`, signed with
-- its sealed secret.
CREATE TABLE store_integrations (
    id           UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    secret       BYTEA NOT NULL,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX store_integrations_ws ON store_integrations (workspace_id);

-- The order a ticket is about (set by an agent, or when a message names an
-- order number the customer owns).
ALTER TABLE tickets ADD COLUMN order_id UUID REFERENCES orders(id);
