-- Each order's line items as rows (kept from the order's `items` document on
-- every push that changes them), so "what was bought with what" is a query:
-- suggestions for agents after a solve read it.
CREATE TABLE order_items (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    order_id     BLOB NOT NULL REFERENCES orders(id),
    position     INTEGER NOT NULL,
    customer_id  BLOB NOT NULL REFERENCES customers(id),
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    quantity     INTEGER NOT NULL,
    placed_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, order_id, position)
);
CREATE INDEX order_items_sku ON order_items (workspace_id, sku);
CREATE INDEX order_items_customer ON order_items (workspace_id, customer_id);

INSERT INTO order_items (workspace_id, order_id, position, customer_id, sku, name, quantity, placed_at)
SELECT o.workspace_id, o.id, CAST(j.key AS INTEGER), o.customer_id,
       json_extract(j.value, '$.sku'), json_extract(j.value, '$.name'),
       json_extract(j.value, '$.quantity'), o.placed_at
FROM orders o, json_each(o.items) j;
