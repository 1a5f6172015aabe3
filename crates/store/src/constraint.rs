//! Constraint violations by name. PostgreSQL reports the violated constraint's
//! name; SQLite reports only `table.column, …`. Both are mapped onto one enum here,
//! so callers match a [`Unique`] variant and no database message text travels up.

use domain::Code;

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
    /// An organisation's name (folded) in the workspace.
    OrganizationName,
    /// A domain claimed by an organisation of the workspace.
    OrganizationDomain,
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
    (
        Unique::OrganizationName,
        "organizations_workspace_id_name_key_key",
        "organizations.workspace_id, organizations.name_key",
    ),
    (
        Unique::OrganizationDomain,
        "organization_domains_pkey",
        "organization_domains.workspace_id, organization_domains.domain",
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

    /// What already exists, as a code the catalogs translate.
    pub fn code(self) -> Code {
        match self {
            Unique::WorkspaceName => Code::TakenWorkspaceName,
            Unique::UserEmail => Code::TakenUserEmail,
            Unique::TeamName => Code::TakenTeamName,
            Unique::TeamMember => Code::TakenTeamMember,
            Unique::TokenHash | Unique::SessionHash => Code::TakenTokenHash,
            Unique::CustomerIdentity => Code::TakenCustomerIdentity,
            Unique::FieldKey => Code::TakenFieldKey,
            Unique::TicketNumber => Code::TakenTicketNumber,
            Unique::TicketTag => Code::TakenTicketTag,
            Unique::MessageExternalId => Code::TakenMessageExternalId,
            Unique::IdempotencyKey => Code::TakenIdempotencyKey,
            Unique::AccountAddress => Code::TakenAccountAddress,
            Unique::ChannelRecord => Code::TakenChannelRecord,
            Unique::Consumer => Code::TakenConsumer,
            Unique::HeldMessage => Code::TakenHeldMessage,
            Unique::CategoryKey => Code::TakenCategoryKey,
            Unique::ArticleLanguage => Code::TakenArticleLanguage,
            Unique::FaqLanguage => Code::TakenFaqLanguage,
            Unique::OrderExternalId => Code::TakenOrderExternalId,
            Unique::OrganizationName => Code::TakenOrganizationName,
            Unique::OrganizationDomain => Code::TakenOrganizationDomain,
            Unique::Other => Code::Exists,
        }
    }

    /// What already exists, in English words a client may see.
    pub fn describe(self) -> &'static str {
        self.code().english()
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
