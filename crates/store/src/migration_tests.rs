//! Upgrades keep data: a database written by the previous schema is migrated in
//! place, here the move of mailboxes and their email record onto channel
//! accounts (0006).

const BEFORE: [&str; 5] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_ticket_counters.sql"),
    include_str!("../migrations/sqlite/0003_email.sql"),
    include_str!("../migrations/sqlite/0004_ticket_views.sql"),
    include_str!("../migrations/sqlite/0005_consumers.sql"),
];
const CHANNEL_ACCOUNTS: &str = include_str!("../migrations/sqlite/0006_channel_accounts.sql");

fn hex(c: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut s = c.prepare(sql).expect("prepare");
    s.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn mailboxes_and_their_mail_become_channel_accounts() {
    let c = rusqlite::Connection::open_in_memory().expect("open");
    c.execute_batch("PRAGMA foreign_keys = ON;")
        .expect("pragma");
    for sql in BEFORE {
        c.execute_batch(sql).expect("earlier migration");
    }
    c.execute_batch(
        "INSERT INTO workspaces VALUES (x'01', 'w', 'W', 'en', 'UTC', 0);
         INSERT INTO customers (id, workspace_id, name, created_at, updated_at) VALUES (x'02', x'01', 'c', 0, 0);
         INSERT INTO mailboxes (id, workspace_id, name, address, inbound_kind, inbound, imap_state, created_at, updated_at)
             VALUES (x'03', x'01', 'Support', 's@shop.example', 'imap', '{}', '{\"uid\":5}', 0, 0);
         INSERT INTO tickets (id, workspace_id, number, subject, status, priority, channel, customer_id, created_at, updated_at)
             VALUES (x'04', x'01', 1, 'mail', 'new', 'normal', 'email', x'02', 0, 0),
                    (x'14', x'01', 2, 'api', 'new', 'normal', 'api', x'02', 0, 0);
         INSERT INTO messages (id, workspace_id, ticket_id, visibility, author_kind, channel, body_text, external_id, created_at)
             VALUES (x'05', x'01', x'04', 'public', 'customer', 'email', 'hi', 'm1@x', 0),
                    (x'06', x'01', x'04', 'public', 'agent', 'email', 'hello', NULL, 1),
                    (x'15', x'01', x'14', 'public', 'customer', 'api', 'x', 'm1@x', 0);
         INSERT INTO email_messages VALUES
             (x'01', x'03', 'm1@x', x'05', x'04', 'in', 'ticket', 'c@y', 'abc', 0),
             (x'01', x'03', 'otk.6@x', x'06', x'04', 'out', 'sent', 'c@y', NULL, 1);",
    )
    .expect("data of the previous schema");
    c.execute_batch(&format!("BEGIN; {CHANNEL_ACCOUNTS} COMMIT;"))
        .expect("0006");
    assert_eq!(
        hex(
            &c,
            "SELECT kind || ' ' || address || ' ' || state FROM channel_accounts"
        ),
        ["email s@shop.example {\"uid\":5}"]
    );
    assert_eq!(
        hex(
            &c,
            "SELECT external_id || ' ' || direction || ' ' || hex(account_id) FROM channel_messages ORDER BY created_at"
        ),
        ["m1@x in 03", "otk.6@x out 03"]
    );
    assert_eq!(
        hex(
            &c,
            "SELECT number || ' ' || CASE WHEN account_id IS NULL THEN '-' ELSE hex(account_id) END FROM tickets ORDER BY number"
        ),
        ["1 03", "2 -"]
    );
    assert_eq!(
        hex(
            &c,
            "SELECT hex(id) || ' ' || CASE WHEN account_id IS NULL THEN '-' ELSE hex(account_id) END FROM messages ORDER BY id"
        ),
        ["05 03", "06 03", "15 -"]
    );
    assert!(hex(&c, "PRAGMA foreign_key_check").is_empty());
    // The old tables are gone; the new keys hold.
    assert!(c.execute_batch("SELECT 1 FROM mailboxes").is_err());
    let again = c.execute_batch(
        "INSERT INTO messages (id, workspace_id, ticket_id, visibility, author_kind, channel, body_text, external_id, created_at, account_id)
             VALUES (x'07', x'01', x'04', 'public', 'customer', 'email', 'again', 'm1@x', 2, x'03')",
    );
    assert!(again.is_err(), "an external id twice on one account");
}
