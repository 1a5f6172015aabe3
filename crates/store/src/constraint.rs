//! Constraint violations by name. PostgreSQL reports the violated constraint's
//! name; SQLite reports only `table.column, …`. Both are mapped onto one enum here,
//! so callers match a [`Unique`] variant and no database message text travels up.

/// A unique key (or primary key) that refused a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unique {
    WorkspaceName,
    UserEmail,
    TeamName,
    TeamMember,
    TokenHash,
    SessionHash,
    CustomerIdentity,
    FieldKey,
    TicketNumber,
    TicketTag,
    /// A message's external id within its account, or its channel for messages
    /// of no account (redelivered inbound input).
    MessageExternalId,
    IdempotencyKey,
    /// A channel account's address (unique per kind on the server).
    AccountAddress,
    /// The per-account record of a message (its external id).
    ChannelRecord,
    Consumer,
    /// A message already held for its account.
    HeldMessage,
    /// A knowledge-base category key in the workspace.
    CategoryKey,
    /// An article's translation into a language (one per group and language).
    ArticleLanguage,
    /// A FAQ entry's translation into a language.
    FaqLanguage,
    /// A store's order id in the workspace.
    OrderExternalId,
    /// A key this table does not know: a schema change without a mapping here.
    Other,
}

/// (variant, PostgreSQL constraint name, SQLite's `table.column, …` list).
const KEYS: &[(Unique, &str, &str)] = &[
    (
        Unique::WorkspaceName,
        "workspaces_name_key",
        "workspaces.name",
    ),
    (
        Unique::UserEmail,
        "users_workspace_id_email_key",
        "users.workspace_id, users.email",
    ),
    (
        Unique::TeamName,
        "teams_workspace_id_name_key",
        "teams.workspace_id, teams.name",
    ),
    (
        Unique::TeamMember,
        "team_members_pkey",
        "team_members.team_id, team_members.user_id",
    ),
    (
        Unique::TokenHash,
        "api_tokens_token_hash_key",
        "api_tokens.token_hash",
    ),
    (
        Unique::SessionHash,
        "sessions_token_hash_key",
        "sessions.token_hash",
    ),
    (
        Unique::CustomerIdentity,
        "customer_identities_workspace_id_kind_value_key",
        "customer_identities.workspace_id, customer_identities.kind, customer_identities.value",
    ),
    (
        Unique::FieldKey,
        "custom_fields_workspace_id_key_key",
        "custom_fields.workspace_id, custom_fields.key",
    ),
    (
        Unique::TicketNumber,
        "tickets_workspace_id_number_key",
        "tickets.workspace_id, tickets.number",
    ),
    (
        Unique::TicketTag,
        "ticket_tags_pkey",
        "ticket_tags.ticket_id, ticket_tags.tag",
    ),
    (
        Unique::MessageExternalId,
        "messages_external",
        "messages.workspace_id, messages.channel, messages.external_id",
    ),
    (
        Unique::MessageExternalId,
        "messages_account_external",
        "messages.account_id, messages.external_id",
    ),
    (
        Unique::IdempotencyKey,
        "idempotency_keys_pkey",
        "idempotency_keys.workspace_id, idempotency_keys.key",
    ),
    (
        Unique::AccountAddress,
        "channel_accounts_kind_address_key",
        "channel_accounts.kind, channel_accounts.address",
    ),
    (
        Unique::ChannelRecord,
        "channel_messages_pkey",
        "channel_messages.account_id, channel_messages.external_id",
    ),
    (Unique::Consumer, "consumers_pkey", "consumers.name"),
    (
        Unique::HeldMessage,
        "held_messages_account_id_external_id_key",
        "held_messages.account_id, held_messages.external_id",
    ),
    (
        Unique::CategoryKey,
        "kb_categories_workspace_id_key_key",
        "kb_categories.workspace_id, kb_categories.key",
    ),
    (
        Unique::ArticleLanguage,
        "kb_articles_workspace_id_group_id_lang_key",
        "kb_articles.workspace_id, kb_articles.group_id, kb_articles.lang",
    ),
    (
        Unique::FaqLanguage,
        "kb_faq_workspace_id_group_id_lang_key",
        "kb_faq.workspace_id, kb_faq.group_id, kb_faq.lang",
    ),
    (
        Unique::OrderExternalId,
        "orders_workspace_id_external_id_key",
        "orders.workspace_id, orders.external_id",
    ),
];

impl Unique {
    /// The key PostgreSQL names `constraint`.
    pub fn from_pg(constraint: &str) -> Unique {
        KEYS.iter()
            .find(|(_, pg, _)| *pg == constraint)
            .map_or(Unique::Other, |k| k.0)
    }

    /// The key of SQLite's message `UNIQUE constraint failed: t.a, t.b`.
    pub fn from_sqlite(message: &str) -> Unique {
        let columns = message
            .strip_prefix("UNIQUE constraint failed: ")
            .unwrap_or(message)
            .trim();
        KEYS.iter()
            .find(|(_, _, lite)| *lite == columns)
            .map_or(Unique::Other, |k| k.0)
    }

    /// What already exists, in words a client may see.
    pub fn describe(self) -> &'static str {
        match self {
            Unique::WorkspaceName => "a workspace with this name already exists",
            Unique::UserEmail => "a user with this email already exists in the workspace",
            Unique::TeamName => "a team with this name already exists",
            Unique::TeamMember => "the user is already in the team",
            Unique::TokenHash | Unique::SessionHash => "the secret collided; try again",
            Unique::CustomerIdentity => "another customer already has this identity",
            Unique::FieldKey => "a field with this key already exists",
            Unique::TicketNumber => "the ticket number was taken; try again",
            Unique::TicketTag => "the ticket already has this tag",
            Unique::MessageExternalId => "a message with this external id already exists",
            Unique::IdempotencyKey => "this Idempotency-Key is already in use",
            Unique::AccountAddress => "this address already belongs to a channel account",
            Unique::ChannelRecord => "this message was already recorded",
            Unique::Consumer => "this consumer already exists",
            Unique::HeldMessage => "this message is already held",
            Unique::CategoryKey => "a category with this key already exists",
            Unique::ArticleLanguage => "this article already has a translation into this language",
            Unique::FaqLanguage => "this FAQ entry already has a translation into this language",
            Unique::OrderExternalId => "an order with this external id already exists",
            Unique::Other => "it already exists",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_databases_name_the_same_key() {
        for (key, pg, lite) in KEYS {
            assert_eq!(Unique::from_pg(pg), *key);
            assert_eq!(
                Unique::from_sqlite(&format!("UNIQUE constraint failed: {lite}")),
                *key
            );
        }
        assert_eq!(Unique::from_pg("brand_new_key"), Unique::Other);
        assert_eq!(
            Unique::from_sqlite("UNIQUE constraint failed: t.x"),
            Unique::Other
        );
    }
}
