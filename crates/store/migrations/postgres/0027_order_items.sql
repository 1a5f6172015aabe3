-- Each order's line items as rows (kept from the order's `items` document on
-- every push that changes them), so "what was bought with what" is a query:
-- suggestions for agents after a solve read it.
CREATE TABLE order_items (
    workspace_id UUID NOT NULL REFERENCES workspaces(id),
    order_id     UUID NOT NULL REFERENCES orders(id),
    position     BIGINT NOT NULL,
    customer_id  UUID NOT NULL REFERENCES customers(id),
    sku          TEXT NOT NULL,
    name         TEXT NOT NULL,
    quantity     BIGINT NOT NULL,
    placed_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, order_id, position)
);
CREATE INDEX order_items_sku ON order_items (workspace_id, sku);
CREATE INDEX order_items_customer ON order_items (workspace_id, customer_id);

INSERT INTO order_items (workspace_id, order_id, position, customer_id, sku, name, quantity, placed_at)
SELECT o.workspace_id, o.id, e.ord - 1, o.customer_id,
       e.item->>'sku', e.item->>'name', (e.item->>'quantity')::bigint, o.placed_at
FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items::jsonb) WITH ORDINALITY AS e(item, ord);
