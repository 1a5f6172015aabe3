//! Typed identifiers. Every id is a UUIDv7: time-ordered (good index locality and a
//! natural newest-first order for cursors) and unguessable across tenants.

use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh id; time-ordered.
            pub fn new() -> Self { Self(Uuid::now_v7()) }
        }
        impl Default for $name {
            fn default() -> Self { Self::new() }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }
        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Uuid::parse_str(s).map(Self) }
        }
        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self { Self(u) }
        }
    )*};
}

id_type!(
    /// A tenant: every tenant-owned row carries one.
    WorkspaceId,
    UserId,
    TeamId,
    CustomerId,
    IdentityId,
    TicketId,
    MessageId,
    AttachmentId,
    TokenId,
    SessionId,
    FieldId,
    /// A channel account: a mailbox, a messenger bot, a chat widget, a phone line.
    AccountId,
    /// A trigger rule (routing and automation rules name themselves as actors).
    RuleId,
    /// A time-based automation.
    AutomationId,
    /// A macro (canned response), shared or an agent's own.
    MacroId,
    /// Mail held without a sender, waiting for an admin.
    HeldId,
    /// A knowledge-base category or section.
    CategoryId,
    /// One language's article in the knowledge base.
    ArticleId,
    /// One language's FAQ entry.
    FaqId,
    /// What translations of one article (or FAQ entry) share.
    GroupId,
    /// A person chatting through a widget: one browser (or app install).
    VisitorId,
    /// A business-hours calendar.
    CalendarId,
    /// An SLA policy.
    SlaPolicyId,
    /// An outbound webhook subscription.
    WebhookId,
    /// One delivery of an event to a webhook subscription.
    DeliveryId,
    /// Two customer profiles that may be one person.
    SuggestionId,
    /// An order a store pushed.
    OrderId,
    /// A store's signed connection for pushing orders.
    StoreId,
    /// A proactive outreach rule.
    OutreachRuleId,
    /// A category triage sorts messages into.
    TriageCategoryId,
    /// One message an outreach rule caused (sent, waiting or skipped).
    OutreachId,
    /// A guided flow the bot leads.
    FlowId,
    /// A person's reminder about a ticket.
    ReminderId,
    /// A company customers belong to.
    OrganizationId,
    /// A conversation kept on a ticket with another team or an outside address.
    SideId,
    /// One message of a side conversation.
    SideMessageId,
    /// A satisfaction survey sent to a customer.
    SurveyId,
    /// One contact on a customer's journey.
    TouchpointId,
    /// A tracked short link (`/l/{code}`).
    LinkId,
    /// A spike in tickets about one topic, raised as an alert.
    TrendId,
    /// A quality-review scorecard.
    ScorecardId,
    /// A reviewer's scores of one conversation.
    ReviewId,
);

/// A mailbox is the email kind of channel account and shares its id.
pub type MailboxId = AccountId;
