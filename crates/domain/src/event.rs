//! The typed events that every change writes, in the same transaction as the change.
//! The event log is the ticket history, the outbox and the source of analytics.

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::fields::FieldType;
use crate::identity::{IdentityKind, MatchReason};
use crate::ids::*;
use crate::order::{OrderStatus, ShipmentStatus};
use crate::ticket::{AuthorKind, Channel, DeliveryState, Priority, Status, Visibility};
use crate::user::Role;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::borrow::Cow;

/// Who caused an event. Stored as a kind and an optional id; rules will refuse to
/// act on what they themselves (or another automation) caused, so every origin is
/// told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(UserId),
    Customer(CustomerId),
    /// A request authenticated by an API token.
    Integration(TokenId),
    Rule(RuleId),
    Automation(AutomationId),
    Bot,
    System,
}

impl Actor {
    pub fn kind(self) -> &'static str {
        match self {
            Actor::User(_) => "user",
            Actor::Customer(_) => "customer",
            Actor::Integration(_) => "integration",
            Actor::Rule(_) => "rule",
            Actor::Automation(_) => "automation",
            Actor::Bot => "bot",
            Actor::System => "system",
        }
    }
    pub fn id(self) -> Option<uuid::Uuid> {
        match self {
            Actor::User(u) => Some(u.0),
            Actor::Customer(c) => Some(c.0),
            Actor::Integration(t) => Some(t.0),
            Actor::Rule(r) => Some(r.0),
            Actor::Automation(a) => Some(a.0),
            Actor::Bot | Actor::System => None,
        }
    }
    /// The actor stored as `kind` and `id`.
    pub fn from_parts(kind: &str, id: Option<uuid::Uuid>) -> Result<Actor, DomainError> {
        let need = || {
            id.ok_or_else(|| {
                DomainError::invalid("actor", Message::new(Code::ActorId).with("kind", kind))
            })
        };
        Ok(match kind {
            "user" => Actor::User(UserId(need()?)),
            "customer" => Actor::Customer(CustomerId(need()?)),
            "integration" => Actor::Integration(TokenId(need()?)),
            "rule" => Actor::Rule(RuleId(need()?)),
            "automation" => Actor::Automation(AutomationId(need()?)),
            "bot" => Actor::Bot,
            "system" => Actor::System,
            other => {
                return Err(DomainError::invalid(
                    "actor",
                    Message::new(Code::ActorKind).with("other", format!("{:?}", other)),
                ));
            }
        })
    }
    /// Whether a person did it (an agent in the workspace, or an integration acting
    /// for one) rather than automation.
    pub fn is_automatic(self) -> bool {
        matches!(
            self,
            Actor::Rule(_) | Actor::Automation(_) | Actor::Bot | Actor::System
        )
    }
}

/// One changed field: its name and the values before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: Cow<'static, str>,
    pub from: Value,
    pub to: Value,
}

/// Sets `slot` to `new`, recording the change in `changes` only when the value differs.
pub fn record<T: Serialize + PartialEq>(
    changes: &mut Vec<Change>,
    field: &'static str,
    slot: &mut T,
    new: T,
) {
    if *slot != new {
        changes.push(Change {
            field: Cow::Borrowed(field),
            from: json(slot),
            to: json(&new),
        });
        *slot = new;
    }
}

fn json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// What happened. Adjacently tagged: the tag is the event's stored `kind` (e.g.
/// `ticket.created`) and the content its `data`, so a stored row reads back into
/// the same variant ([`EventData::from_stored`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum EventData {
    #[serde(rename = "workspace.created")]
    WorkspaceCreated { name: String },
    #[serde(rename = "user.created")]
    UserCreated {
        user_id: UserId,
        email: String,
        role: Role,
    },
    #[serde(rename = "user.updated")]
    UserUpdated {
        user_id: UserId,
        changes: Vec<Change>,
    },
    #[serde(rename = "team.created")]
    TeamCreated { team_id: TeamId, name: String },
    #[serde(rename = "team.updated")]
    TeamUpdated {
        team_id: TeamId,
        changes: Vec<Change>,
    },
    #[serde(rename = "token.created")]
    TokenCreated {
        token_id: TokenId,
        user_id: UserId,
        name: String,
    },
    #[serde(rename = "token.revoked")]
    TokenRevoked { token_id: TokenId },
    #[serde(rename = "custom_field.created")]
    FieldCreated {
        field_id: FieldId,
        key: String,
        field_type: FieldType,
    },
    /// A custom field's label, options, requirement, position or archived
    /// state changed.
    #[serde(rename = "custom_field.updated")]
    FieldUpdated {
        field_id: FieldId,
        key: String,
        changes: Vec<Change>,
    },
    #[serde(rename = "customer.created")]
    CustomerCreated {
        customer_id: CustomerId,
        name: String,
    },
    #[serde(rename = "customer.updated")]
    CustomerUpdated {
        customer_id: CustomerId,
        changes: Vec<Change>,
    },
    #[serde(rename = "customer.identity_added")]
    IdentityAdded {
        customer_id: CustomerId,
        kind: IdentityKind,
        value: String,
    },
    /// `merged_id` moved into `customer_id` with its identities, tickets and messages.
    #[serde(rename = "customer.merged")]
    CustomersMerged {
        customer_id: CustomerId,
        merged_id: CustomerId,
        identities: usize,
        tickets: usize,
    },
    /// Two profiles may be one person, but linking them automatically could be
    /// wrong (a shared number, an address nobody proved, names that differ):
    /// agents decide. `kind`/`value`: the identity both were seen with.
    #[serde(rename = "customer.merge_suggested")]
    MergeSuggested {
        customer_id: CustomerId,
        other_id: CustomerId,
        reason: MatchReason,
        kind: IdentityKind,
        value: String,
    },
    #[serde(rename = "customer.suggestion_dismissed")]
    SuggestionDismissed {
        customer_id: CustomerId,
        other_id: CustomerId,
    },
    /// An agent marked an identity as shared by several people (or not), or a
    /// channel proved an address the customer had only claimed.
    #[serde(rename = "customer.identity_updated")]
    IdentityUpdated {
        customer_id: CustomerId,
        kind: IdentityKind,
        value: String,
        verified: bool,
        shared: bool,
    },
    /// A store pushed an order not known before.
    #[serde(rename = "order.created")]
    OrderCreated {
        order_id: OrderId,
        customer_id: CustomerId,
        number: String,
        status: OrderStatus,
    },
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged {
        order_id: OrderId,
        customer_id: CustomerId,
        number: String,
        from: OrderStatus,
        to: OrderStatus,
    },
    /// A parcel of an order appeared or moved (`from` none: new).
    #[serde(rename = "order.shipment_updated")]
    ShipmentUpdated {
        order_id: OrderId,
        customer_id: CustomerId,
        number: String,
        tracking_number: String,
        from: Option<ShipmentStatus>,
        to: ShipmentStatus,
    },
    /// Two bad experiences in a row (a re-opened ticket, a missed SLA target):
    /// the customer needs care. `reasons` name them.
    #[serde(rename = "customer.at_risk")]
    CustomerAtRisk {
        customer_id: CustomerId,
        ticket_id: TicketId,
        reasons: Vec<String>,
    },
    /// An outreach rule wrote to a customer (`ticket_id`: where it is, and
    /// where their answer goes).
    #[serde(rename = "outreach.sent")]
    OutreachSent {
        customer_id: CustomerId,
        rule_id: OutreachRuleId,
        outreach_id: OutreachId,
        ticket_id: TicketId,
        channel: Channel,
    },
    /// An outreach rule did not write: opted out, the daily limit, no channel.
    #[serde(rename = "outreach.skipped")]
    OutreachSkipped {
        customer_id: CustomerId,
        rule_id: OutreachRuleId,
        outreach_id: OutreachId,
        reason: String,
    },
    /// Triage read a customer's message: its language, the category it is
    /// most likely about (with the chance), urgency and sentiment.
    #[serde(rename = "message.triaged")]
    MessageTriaged {
        ticket_id: TicketId,
        message_id: MessageId,
        lang: Option<String>,
        category: Option<String>,
        confidence: f64,
        urgent: bool,
        sentiment: String,
    },
    /// The bot answered a customer in a conversation (`message_id`: its
    /// answer), from an FAQ entry, an article or a guided flow that ran to
    /// its end (`flow`: its key), with the chance it understood.
    #[serde(rename = "bot.answered")]
    BotAnswered {
        ticket_id: TicketId,
        message_id: MessageId,
        faq_id: Option<FaqId>,
        article_id: Option<ArticleId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flow: Option<String>,
        confidence: f64,
    },
    /// The customer said whether the bot's answer helped.
    #[serde(rename = "bot.feedback")]
    BotFeedback { ticket_id: TicketId, helpful: bool },
    /// The bot gave the conversation to people (`reason` as
    /// `assist::HandoffReason`), to `team_id` when it named one.
    #[serde(rename = "bot.handed_off")]
    BotHandedOff {
        ticket_id: TicketId,
        reason: String,
        team_id: Option<TeamId>,
        confidence: f64,
    },
    /// An agent told triage what a message is about (a label it learns from).
    #[serde(rename = "message.triage_corrected")]
    TriageCorrected {
        ticket_id: TicketId,
        message_id: MessageId,
        from: Option<String>,
        to: String,
    },
    #[serde(rename = "ticket.created")]
    TicketCreated {
        ticket_id: TicketId,
        number: i64,
        subject: String,
        status: Status,
        priority: Priority,
        channel: Channel,
        customer_id: CustomerId,
        follow_up_of: Option<TicketId>,
    },
    #[serde(rename = "ticket.updated")]
    TicketUpdated {
        ticket_id: TicketId,
        changes: Vec<Change>,
    },
    #[serde(rename = "message.added")]
    MessageAdded {
        ticket_id: TicketId,
        message_id: MessageId,
        visibility: Visibility,
        author_kind: AuthorKind,
        channel: Channel,
        attachments: usize,
    },
    /// Files a messenger named were fetched and attached to the message
    /// after it came in (`missing`: the ones that could not be, with why).
    #[serde(rename = "message.files_added")]
    FilesAdded {
        ticket_id: TicketId,
        message_id: MessageId,
        attachments: usize,
        missing: Vec<String>,
    },
    #[serde(rename = "message.delivery_changed")]
    DeliveryChanged {
        ticket_id: TicketId,
        message_id: MessageId,
        state: DeliveryState,
        error: Option<String>,
    },
    #[serde(rename = "mailbox.created")]
    MailboxCreated {
        mailbox_id: MailboxId,
        address: String,
    },
    #[serde(rename = "mailbox.updated")]
    MailboxUpdated {
        mailbox_id: MailboxId,
        changes: Vec<Change>,
    },
    /// A channel account other than a mailbox (a chat widget, a messenger) was
    /// created or changed.
    #[serde(rename = "channel.created")]
    ChannelCreated {
        account_id: AccountId,
        channel: Channel,
    },
    #[serde(rename = "channel.updated")]
    ChannelUpdated {
        account_id: AccountId,
        channel: Channel,
    },
    /// An automatic acknowledgement went to the customer (or was held back).
    #[serde(rename = "ticket.auto_reply_sent")]
    AutoReplySent { ticket_id: TicketId, to: String },
    /// A knowledge-base article was created or saved as a new version.
    #[serde(rename = "kb.article_saved")]
    ArticleSaved {
        article_id: ArticleId,
        group_id: GroupId,
        lang: String,
        version: i64,
        status: crate::kb::ArticleStatus,
    },
    /// A FAQ entry was created or changed.
    #[serde(rename = "kb.faq_saved")]
    FaqSaved {
        faq_id: FaqId,
        group_id: GroupId,
        lang: String,
    },
    /// A ticket went up a tier or to another team; its reason is also an
    /// internal note.
    #[serde(rename = "ticket.escalated")]
    TicketEscalated {
        ticket_id: TicketId,
        from_tier: i64,
        to_tier: i64,
        from_team: Option<TeamId>,
        to_team: Option<TeamId>,
        reason: String,
    },
    /// An expert was invited onto a ticket (swarming).
    #[serde(rename = "ticket.collaborator_added")]
    CollaboratorAdded {
        ticket_id: TicketId,
        user_id: UserId,
    },
    #[serde(rename = "ticket.collaborator_removed")]
    CollaboratorRemoved {
        ticket_id: TicketId,
        user_id: UserId,
    },
    /// A note or reply was marked (or unmarked) as the ticket's solution.
    #[serde(rename = "message.solution_marked")]
    SolutionMarked {
        ticket_id: TicketId,
        message_id: MessageId,
        solution: bool,
    },
    /// A business-hours calendar was created or changed.
    #[serde(rename = "business_hours.saved")]
    BusinessHoursSaved {
        calendar_id: CalendarId,
        name: String,
    },
    /// An SLA policy was created or changed.
    #[serde(rename = "sla_policy.saved")]
    SlaPolicySaved {
        policy_id: SlaPolicyId,
        name: String,
    },
    #[serde(rename = "sla_policy.deleted")]
    SlaPolicyDeleted { policy_id: SlaPolicyId },
    /// A macro was created or changed.
    #[serde(rename = "macro.saved")]
    MacroSaved { macro_id: MacroId, name: String },
    #[serde(rename = "macro.deleted")]
    MacroDeleted { macro_id: MacroId },
    /// A trigger or automation was created or changed.
    #[serde(rename = "rule.saved")]
    RuleSaved { rule_id: RuleId, name: String },
    #[serde(rename = "rule.deleted")]
    RuleDeleted { rule_id: RuleId },
    /// A rule's conditions held for a ticket and its actions ran; the changes
    /// they made follow as events by the rule. `failed`: the actions that could
    /// not run, each with why (`actions[2] assign: …`).
    #[serde(rename = "rule.fired")]
    RuleFired {
        ticket_id: TicketId,
        rule_id: RuleId,
        name: String,
        failed: Vec<String>,
    },
    /// An outbound webhook subscription was created or changed.
    #[serde(rename = "webhook.saved")]
    WebhookSaved { webhook_id: WebhookId },
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted { webhook_id: WebhookId },
    /// A subscription was switched off after deliveries kept failing.
    #[serde(rename = "webhook.disabled")]
    WebhookDisabled {
        webhook_id: WebhookId,
        reason: String,
    },
    /// Another ticket was merged into this one: its messages moved here and it
    /// was closed, pointing here.
    #[serde(rename = "ticket.merged")]
    TicketMerged {
        ticket_id: TicketId,
        source_id: TicketId,
        source_number: i64,
        messages: u64,
    },
    /// A company customers belong to was added.
    #[serde(rename = "organization.created")]
    OrganizationCreated {
        organization_id: OrganizationId,
        name: String,
    },
    /// An organisation's name, domains, notes or fields changed (`linked`:
    /// customers its new domains brought in).
    #[serde(rename = "organization.updated")]
    OrganizationUpdated {
        organization_id: OrganizationId,
        changes: Vec<Change>,
        #[serde(default)]
        linked: u64,
    },
    /// An organisation was deleted; its customers belong to none now.
    #[serde(rename = "organization.deleted")]
    OrganizationDeleted {
        organization_id: OrganizationId,
        name: String,
    },
    /// A customer's message was moved out of this ticket into a new one.
    #[serde(rename = "ticket.split")]
    TicketSplit {
        ticket_id: TicketId,
        into_id: TicketId,
        into_number: i64,
        message_id: MessageId,
    },
    /// Someone began following a ticket (told of the customer's messages and
    /// status changes).
    #[serde(rename = "ticket.follower_added")]
    FollowerAdded {
        ticket_id: TicketId,
        user_id: UserId,
    },
    #[serde(rename = "ticket.follower_removed")]
    FollowerRemoved {
        ticket_id: TicketId,
        user_id: UserId,
    },
    /// A side conversation began on a ticket: with a team (`team_id`) or an
    /// outside email address (`address`).
    #[serde(rename = "side.started")]
    SideStarted {
        ticket_id: TicketId,
        side_id: SideId,
        subject: String,
        team_id: Option<TeamId>,
        address: Option<String>,
    },
    /// A message in a side conversation: an agent's (`outside` false) or the
    /// outside party's answer by email.
    #[serde(rename = "side.message_added")]
    SideMessageAdded {
        ticket_id: TicketId,
        side_id: SideId,
        side_message_id: SideMessageId,
        outside: bool,
    },
    /// A side conversation was closed or opened again.
    #[serde(rename = "side.state_changed")]
    SideStateChanged {
        ticket_id: TicketId,
        side_id: SideId,
        open: bool,
    },
    /// A satisfaction survey went to the customer (`survey_kind`: csat, nps).
    #[serde(rename = "survey.sent")]
    SurveySent {
        survey_id: SurveyId,
        ticket_id: Option<TicketId>,
        customer_id: CustomerId,
        survey_kind: String,
    },
    /// New tickets about one topic (`key`: `category:…`, `tag:…`, `term:…`)
    /// spiked against its own baseline (`domain::trend`); the newest of
    /// them as examples.
    #[serde(rename = "trend.detected")]
    TrendDetected {
        trend_id: TrendId,
        key: String,
        observed: i64,
        expected: f64,
        p_value: f64,
        ticket_ids: Vec<TicketId>,
    },
    /// The customer answered a survey; `replaced` when it changed an earlier
    /// answer.
    #[serde(rename = "survey.answered")]
    SurveyAnswered {
        survey_id: SurveyId,
        ticket_id: Option<TicketId>,
        customer_id: CustomerId,
        survey_kind: String,
        score: i64,
        comment: String,
        replaced: bool,
        /// The score it replaced.
        #[serde(default)]
        previous: Option<i64>,
    },
    /// The customer asked to get no more surveys (`opted_out`), or to get
    /// them again, through the link under a survey.
    #[serde(rename = "survey.opted_out")]
    SurveyOptedOut {
        customer_id: CustomerId,
        opted_out: bool,
    },
    /// The customer's personal data was erased on request: what was there to
    /// erase (counts only; the record itself holds nothing personal).
    #[serde(rename = "customer.erased")]
    CustomerErased {
        customer_id: CustomerId,
        /// Profiles erased: the customer and those merged into them.
        profiles: u64,
        tickets: u64,
        messages: u64,
        attachments: u64,
        orders: u64,
        touchpoints: u64,
        events: u64,
    },
    /// A supervisor reviewed the conversation on a scorecard (`replaced`: it
    /// changed their earlier review on it); `score` 0–100.
    #[serde(rename = "review.saved")]
    ReviewSaved {
        ticket_id: TicketId,
        review_id: ReviewId,
        agent_id: UserId,
        scorecard_id: ScorecardId,
        score: f64,
        replaced: bool,
    },
    /// A person's reminder about a ticket came due; they are told.
    #[serde(rename = "ticket.reminder_due")]
    ReminderDue {
        ticket_id: TicketId,
        reminder_id: ReminderId,
        user_id: UserId,
        note: String,
    },
    /// A note mentioned colleagues by their `@handle`; they are told.
    #[serde(rename = "message.mentioned")]
    Mentioned {
        ticket_id: TicketId,
        message_id: MessageId,
        user_ids: Vec<UserId>,
    },
    /// Agents were told about a ticket (a rule's `notify`).
    #[serde(rename = "agents.notified")]
    AgentsNotified {
        ticket_id: TicketId,
        user_ids: Vec<UserId>,
        text: String,
    },
    /// A clock used the policy's warning share of its target (`due_at`: Unix
    /// milliseconds).
    #[serde(rename = "sla.warning")]
    SlaWarning {
        ticket_id: TicketId,
        policy_id: SlaPolicyId,
        metric: crate::sla::Metric,
        cycle: u32,
        due_at: i64,
    },
    /// A clock reached its target before it was met.
    #[serde(rename = "sla.breached")]
    SlaBreached {
        ticket_id: TicketId,
        policy_id: SlaPolicyId,
        metric: crate::sla::Metric,
        cycle: u32,
        due_at: i64,
    },
}

impl EventData {
    /// The event's kind as stored and exposed, e.g. `ticket.created`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::WorkspaceCreated { .. } => "workspace.created",
            EventData::UserCreated { .. } => "user.created",
            EventData::UserUpdated { .. } => "user.updated",
            EventData::TeamCreated { .. } => "team.created",
            EventData::TeamUpdated { .. } => "team.updated",
            EventData::TokenCreated { .. } => "token.created",
            EventData::TokenRevoked { .. } => "token.revoked",
            EventData::FieldCreated { .. } => "custom_field.created",
            EventData::FieldUpdated { .. } => "custom_field.updated",
            EventData::CustomerCreated { .. } => "customer.created",
            EventData::CustomerUpdated { .. } => "customer.updated",
            EventData::IdentityAdded { .. } => "customer.identity_added",
            EventData::CustomersMerged { .. } => "customer.merged",
            EventData::MergeSuggested { .. } => "customer.merge_suggested",
            EventData::SuggestionDismissed { .. } => "customer.suggestion_dismissed",
            EventData::IdentityUpdated { .. } => "customer.identity_updated",
            EventData::OrderCreated { .. } => "order.created",
            EventData::OrderStatusChanged { .. } => "order.status_changed",
            EventData::ShipmentUpdated { .. } => "order.shipment_updated",
            EventData::CustomerAtRisk { .. } => "customer.at_risk",
            EventData::OutreachSent { .. } => "outreach.sent",
            EventData::OutreachSkipped { .. } => "outreach.skipped",
            EventData::MessageTriaged { .. } => "message.triaged",
            EventData::TriageCorrected { .. } => "message.triage_corrected",
            EventData::BotAnswered { .. } => "bot.answered",
            EventData::BotFeedback { .. } => "bot.feedback",
            EventData::BotHandedOff { .. } => "bot.handed_off",
            EventData::TicketCreated { .. } => "ticket.created",
            EventData::TicketUpdated { .. } => "ticket.updated",
            EventData::MessageAdded { .. } => "message.added",
            EventData::DeliveryChanged { .. } => "message.delivery_changed",
            EventData::FilesAdded { .. } => "message.files_added",
            EventData::MailboxCreated { .. } => "mailbox.created",
            EventData::MailboxUpdated { .. } => "mailbox.updated",
            EventData::ChannelCreated { .. } => "channel.created",
            EventData::ChannelUpdated { .. } => "channel.updated",
            EventData::AutoReplySent { .. } => "ticket.auto_reply_sent",
            EventData::ArticleSaved { .. } => "kb.article_saved",
            EventData::FaqSaved { .. } => "kb.faq_saved",
            EventData::TicketEscalated { .. } => "ticket.escalated",
            EventData::CollaboratorAdded { .. } => "ticket.collaborator_added",
            EventData::CollaboratorRemoved { .. } => "ticket.collaborator_removed",
            EventData::SolutionMarked { .. } => "message.solution_marked",
            EventData::BusinessHoursSaved { .. } => "business_hours.saved",
            EventData::SlaPolicySaved { .. } => "sla_policy.saved",
            EventData::SlaPolicyDeleted { .. } => "sla_policy.deleted",
            EventData::MacroSaved { .. } => "macro.saved",
            EventData::MacroDeleted { .. } => "macro.deleted",
            EventData::RuleSaved { .. } => "rule.saved",
            EventData::RuleDeleted { .. } => "rule.deleted",
            EventData::RuleFired { .. } => "rule.fired",
            EventData::AgentsNotified { .. } => "agents.notified",
            EventData::Mentioned { .. } => "message.mentioned",
            EventData::TicketMerged { .. } => "ticket.merged",
            EventData::ReminderDue { .. } => "ticket.reminder_due",
            EventData::TicketSplit { .. } => "ticket.split",
            EventData::FollowerAdded { .. } => "ticket.follower_added",
            EventData::FollowerRemoved { .. } => "ticket.follower_removed",
            EventData::SideStarted { .. } => "side.started",
            EventData::SideMessageAdded { .. } => "side.message_added",
            EventData::SideStateChanged { .. } => "side.state_changed",
            EventData::SurveySent { .. } => "survey.sent",
            EventData::SurveyAnswered { .. } => "survey.answered",
            EventData::SurveyOptedOut { .. } => "survey.opted_out",
            EventData::CustomerErased { .. } => "customer.erased",
            EventData::ReviewSaved { .. } => "review.saved",
            EventData::TrendDetected { .. } => "trend.detected",
            EventData::OrganizationCreated { .. } => "organization.created",
            EventData::OrganizationUpdated { .. } => "organization.updated",
            EventData::OrganizationDeleted { .. } => "organization.deleted",
            EventData::SlaWarning { .. } => "sla.warning",
            EventData::SlaBreached { .. } => "sla.breached",
            EventData::WebhookSaved { .. } => "webhook.saved",
            EventData::WebhookDeleted { .. } => "webhook.deleted",
            EventData::WebhookDisabled { .. } => "webhook.disabled",
        }
    }

    /// Every kind an event may have (what webhook subscriptions choose from).
    pub const KINDS: &'static [&'static str] = &[
        "workspace.created",
        "user.created",
        "user.updated",
        "team.created",
        "team.updated",
        "token.created",
        "token.revoked",
        "custom_field.created",
        "custom_field.updated",
        "customer.created",
        "customer.updated",
        "customer.identity_added",
        "customer.merged",
        "customer.merge_suggested",
        "customer.suggestion_dismissed",
        "customer.identity_updated",
        "organization.created",
        "organization.updated",
        "organization.deleted",
        "order.created",
        "order.status_changed",
        "order.shipment_updated",
        "customer.at_risk",
        "outreach.sent",
        "outreach.skipped",
        "message.triaged",
        "message.triage_corrected",
        "bot.answered",
        "bot.feedback",
        "bot.handed_off",
        "ticket.created",
        "ticket.updated",
        "message.added",
        "message.delivery_changed",
        "message.files_added",
        "mailbox.created",
        "mailbox.updated",
        "channel.created",
        "channel.updated",
        "ticket.auto_reply_sent",
        "kb.article_saved",
        "kb.faq_saved",
        "ticket.escalated",
        "ticket.collaborator_added",
        "ticket.collaborator_removed",
        "message.solution_marked",
        "business_hours.saved",
        "sla_policy.saved",
        "sla_policy.deleted",
        "macro.saved",
        "macro.deleted",
        "rule.saved",
        "rule.deleted",
        "rule.fired",
        "agents.notified",
        "message.mentioned",
        "ticket.merged",
        "ticket.reminder_due",
        "ticket.split",
        "ticket.follower_added",
        "ticket.follower_removed",
        "side.started",
        "side.message_added",
        "side.state_changed",
        "survey.sent",
        "survey.answered",
        "survey.opted_out",
        "customer.erased",
        "review.saved",
        "trend.detected",
        "sla.warning",
        "sla.breached",
        "webhook.saved",
        "webhook.deleted",
        "webhook.disabled",
    ];

    /// The event as stored: its kind and its data (the variant's fields).
    pub fn to_stored(&self) -> Result<(&'static str, Value), DomainError> {
        let mut v = serde_json::to_value(self).map_err(|e| {
            DomainError::invalid("event", Message::new(Code::BadJson).with("reason", e))
        })?;
        let data = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
        Ok((self.kind(), data))
    }

    /// The event a stored kind and data describe. Fails for a kind this build does
    /// not know or data that does not fit it.
    pub fn from_stored(kind: &str, data: Value) -> Result<EventData, DomainError> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data })).map_err(|e| {
            DomainError::invalid(
                "event",
                Message::new(Code::BadJson).with("reason", format!("{kind}: {e}")),
            )
        })
    }

    /// Blanks what this event says about a person whose data is erased: names,
    /// addresses, numbers, subjects, texts. What the event counts (kinds,
    /// states, ids, scores, times) stays, so that reports and the ticket
    /// history keep their shape. Whether anything changed.
    pub fn erase_personal(&mut self) -> bool {
        fn blank(s: &mut String) -> bool {
            let changed = !s.is_empty();
            s.clear();
            changed
        }
        fn blank_changes(changes: &mut [Change], personal: impl Fn(&str) -> bool) -> bool {
            let mut changed = false;
            for c in changes.iter_mut().filter(|c| personal(&c.field)) {
                changed |= !c.from.is_null() || !c.to.is_null();
                c.from = Value::Null;
                c.to = Value::Null;
            }
            changed
        }
        match self {
            EventData::CustomerCreated { name, .. } => blank(name),
            EventData::CustomerUpdated { changes, .. } => blank_changes(changes, |_| true),
            EventData::IdentityAdded { value, .. }
            | EventData::IdentityUpdated { value, .. }
            | EventData::MergeSuggested { value, .. } => blank(value),
            EventData::OrderCreated { number, .. }
            | EventData::OrderStatusChanged { number, .. } => blank(number),
            EventData::ShipmentUpdated {
                number,
                tracking_number,
                ..
            } => blank(number) | blank(tracking_number),
            EventData::OutreachSkipped { reason, .. } => blank(reason),
            EventData::TicketCreated { subject, .. } => blank(subject),
            EventData::TicketUpdated { changes, .. } => {
                blank_changes(changes, |f| matches!(f, "subject" | "custom_fields" | "cc"))
            }
            EventData::DeliveryChanged { error, .. } => error.take().is_some(),
            EventData::AutoReplySent { to, .. } => blank(to),
            EventData::TicketEscalated { reason, .. } => blank(reason),
            EventData::FilesAdded { missing, .. } => {
                let changed = !missing.is_empty();
                missing.clear();
                changed
            }
            EventData::SideStarted {
                subject, address, ..
            } => blank(subject) | address.take().is_some(),
            EventData::SurveyAnswered { comment, .. } => blank(comment),
            EventData::ReminderDue { note, .. } => blank(note),
            EventData::AgentsNotified { text, .. } => blank(text),
            _ => false,
        }
    }

    /// The ticket this event belongs to, for the ticket history.
    pub fn ticket_id(&self) -> Option<TicketId> {
        match self {
            EventData::TicketCreated { ticket_id, .. }
            | EventData::TicketUpdated { ticket_id, .. }
            | EventData::MessageAdded { ticket_id, .. }
            | EventData::DeliveryChanged { ticket_id, .. }
            | EventData::FilesAdded { ticket_id, .. }
            | EventData::AutoReplySent { ticket_id, .. }
            | EventData::TicketEscalated { ticket_id, .. }
            | EventData::CollaboratorAdded { ticket_id, .. }
            | EventData::CollaboratorRemoved { ticket_id, .. }
            | EventData::SolutionMarked { ticket_id, .. }
            | EventData::SlaWarning { ticket_id, .. }
            | EventData::RuleFired { ticket_id, .. }
            | EventData::AgentsNotified { ticket_id, .. }
            | EventData::Mentioned { ticket_id, .. }
            | EventData::TicketMerged { ticket_id, .. }
            | EventData::ReminderDue { ticket_id, .. }
            | EventData::TicketSplit { ticket_id, .. }
            | EventData::FollowerAdded { ticket_id, .. }
            | EventData::FollowerRemoved { ticket_id, .. }
            | EventData::SideStarted { ticket_id, .. }
            | EventData::SideMessageAdded { ticket_id, .. }
            | EventData::SideStateChanged { ticket_id, .. }
            | EventData::SlaBreached { ticket_id, .. }
            | EventData::CustomerAtRisk { ticket_id, .. }
            | EventData::OutreachSent { ticket_id, .. }
            | EventData::MessageTriaged { ticket_id, .. }
            | EventData::TriageCorrected { ticket_id, .. }
            | EventData::BotAnswered { ticket_id, .. }
            | EventData::BotFeedback { ticket_id, .. }
            | EventData::BotHandedOff { ticket_id, .. }
            | EventData::ReviewSaved { ticket_id, .. } => Some(*ticket_id),
            EventData::SurveySent { ticket_id, .. }
            | EventData::SurveyAnswered { ticket_id, .. } => *ticket_id,
            _ => None,
        }
    }

    /// The customer this event belongs to, for the customer timeline.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self {
            EventData::CustomerCreated { customer_id, .. }
            | EventData::CustomerUpdated { customer_id, .. }
            | EventData::IdentityAdded { customer_id, .. }
            | EventData::CustomersMerged { customer_id, .. }
            | EventData::MergeSuggested { customer_id, .. }
            | EventData::SuggestionDismissed { customer_id, .. }
            | EventData::IdentityUpdated { customer_id, .. }
            | EventData::OrderCreated { customer_id, .. }
            | EventData::OrderStatusChanged { customer_id, .. }
            | EventData::ShipmentUpdated { customer_id, .. }
            | EventData::CustomerAtRisk { customer_id, .. }
            | EventData::OutreachSent { customer_id, .. }
            | EventData::OutreachSkipped { customer_id, .. }
            | EventData::SurveyOptedOut { customer_id, .. }
            | EventData::CustomerErased { customer_id, .. }
            | EventData::SurveySent { customer_id, .. }
            | EventData::SurveyAnswered { customer_id, .. }
            | EventData::TicketCreated { customer_id, .. } => Some(*customer_id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every variant: a new variant that is missing here fails the
    /// exhaustive match below, so the round trip covers it.
    fn one_of_each() -> Vec<EventData> {
        let change = || Change {
            field: Cow::Borrowed("status"),
            from: Value::from("new"),
            to: Value::from("open"),
        };
        let all = vec![
            EventData::WorkspaceCreated {
                name: "Магазин".into(),
            },
            EventData::UserCreated {
                user_id: UserId::new(),
                email: "a@b.test".into(),
                role: Role::LightAgent,
            },
            EventData::UserUpdated {
                user_id: UserId::new(),
                changes: vec![change()],
            },
            EventData::TeamCreated {
                team_id: TeamId::new(),
                name: "L1".into(),
            },
            EventData::TeamUpdated {
                team_id: TeamId::new(),
                changes: vec![],
            },
            EventData::TokenCreated {
                token_id: TokenId::new(),
                user_id: UserId::new(),
                name: "crm".into(),
            },
            EventData::TokenRevoked {
                token_id: TokenId::new(),
            },
            EventData::FieldCreated {
                field_id: FieldId::new(),
                key: "order".into(),
                field_type: FieldType::Dropdown,
            },
            EventData::FieldUpdated {
                field_id: FieldId::new(),
                key: "order".into(),
                changes: vec![Change {
                    field: "archived".into(),
                    from: Value::Bool(false),
                    to: Value::Bool(true),
                }],
            },
            EventData::CustomerCreated {
                customer_id: CustomerId::new(),
                name: "Анна".into(),
            },
            EventData::CustomerUpdated {
                customer_id: CustomerId::new(),
                changes: vec![change()],
            },
            EventData::IdentityAdded {
                customer_id: CustomerId::new(),
                kind: IdentityKind::Phone,
                value: "+79001234567".into(),
            },
            EventData::CustomersMerged {
                customer_id: CustomerId::new(),
                merged_id: CustomerId::new(),
                identities: 2,
                tickets: 3,
            },
            EventData::MergeSuggested {
                customer_id: CustomerId::new(),
                other_id: CustomerId::new(),
                reason: MatchReason::SharedIdentity,
                kind: IdentityKind::Whatsapp,
                value: "+66812345678".into(),
            },
            EventData::SuggestionDismissed {
                customer_id: CustomerId::new(),
                other_id: CustomerId::new(),
            },
            EventData::IdentityUpdated {
                customer_id: CustomerId::new(),
                kind: IdentityKind::Phone,
                value: "+79001234567".into(),
                verified: true,
                shared: true,
            },
            EventData::OrderCreated {
                order_id: OrderId::new(),
                customer_id: CustomerId::new(),
                number: "5531".into(),
                status: OrderStatus::Paid,
            },
            EventData::OrderStatusChanged {
                order_id: OrderId::new(),
                customer_id: CustomerId::new(),
                number: "5531".into(),
                from: OrderStatus::Paid,
                to: OrderStatus::Shipped,
            },
            EventData::ShipmentUpdated {
                order_id: OrderId::new(),
                customer_id: CustomerId::new(),
                number: "5531".into(),
                tracking_number: "RU123456789".into(),
                from: None,
                to: ShipmentStatus::InTransit,
            },
            EventData::CustomerAtRisk {
                customer_id: CustomerId::new(),
                ticket_id: TicketId::new(),
                reasons: vec!["re-opened".into(), "sla_breached".into()],
            },
            EventData::OutreachSent {
                customer_id: CustomerId::new(),
                rule_id: OutreachRuleId::new(),
                outreach_id: OutreachId::new(),
                ticket_id: TicketId::new(),
                channel: Channel::Telegram,
            },
            EventData::OutreachSkipped {
                customer_id: CustomerId::new(),
                rule_id: OutreachRuleId::new(),
                outreach_id: OutreachId::new(),
                reason: "opted_out".into(),
            },
            EventData::MessageTriaged {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                lang: Some("ru".into()),
                category: Some("delivery".into()),
                confidence: 0.83,
                urgent: true,
                sentiment: "negative".into(),
            },
            EventData::TriageCorrected {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                from: Some("delivery".into()),
                to: "returns".into(),
            },
            EventData::BotAnswered {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                faq_id: Some(FaqId::new()),
                article_id: None,
                flow: None,
                confidence: 0.91,
            },
            EventData::BotFeedback {
                ticket_id: TicketId::new(),
                helpful: true,
            },
            EventData::BotHandedOff {
                ticket_id: TicketId::new(),
                reason: "asked_for_human".into(),
                team_id: Some(TeamId::new()),
                confidence: 1.0,
            },
            EventData::TicketCreated {
                ticket_id: TicketId::new(),
                number: 1042,
                subject: "Где заказ?".into(),
                status: Status::New,
                priority: Priority::Urgent,
                channel: Channel::Telegram,
                customer_id: CustomerId::new(),
                follow_up_of: Some(TicketId::new()),
            },
            EventData::TicketUpdated {
                ticket_id: TicketId::new(),
                changes: vec![change(), change()],
            },
            EventData::MessageAdded {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                visibility: Visibility::Internal,
                author_kind: AuthorKind::Agent,
                channel: Channel::Email,
                attachments: 1,
            },
            EventData::DeliveryChanged {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                state: DeliveryState::Read,
                error: None,
            },
            EventData::FilesAdded {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                attachments: 2,
                missing: vec!["voice.ogg (larger than 20 MB)".into()],
            },
            EventData::MailboxCreated {
                mailbox_id: MailboxId::new(),
                address: "s@shop.test".into(),
            },
            EventData::MailboxUpdated {
                mailbox_id: MailboxId::new(),
                changes: vec![change()],
            },
            EventData::ChannelCreated {
                account_id: AccountId::new(),
                channel: Channel::Chat,
            },
            EventData::ChannelUpdated {
                account_id: AccountId::new(),
                channel: Channel::Chat,
            },
            EventData::AutoReplySent {
                ticket_id: TicketId::new(),
                to: "c@x.test".into(),
            },
            EventData::ArticleSaved {
                article_id: ArticleId::new(),
                group_id: GroupId::new(),
                lang: "ru".into(),
                version: 2,
                status: crate::kb::ArticleStatus::Published,
            },
            EventData::FaqSaved {
                faq_id: FaqId::new(),
                group_id: GroupId::new(),
                lang: "th".into(),
            },
            EventData::TicketEscalated {
                ticket_id: TicketId::new(),
                from_tier: 1,
                to_tier: 2,
                from_team: Some(TeamId::new()),
                to_team: None,
                reason: "нужен эксперт по оплате".into(),
            },
            EventData::CollaboratorAdded {
                ticket_id: TicketId::new(),
                user_id: UserId::new(),
            },
            EventData::CollaboratorRemoved {
                ticket_id: TicketId::new(),
                user_id: UserId::new(),
            },
            EventData::SolutionMarked {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                solution: true,
            },
            EventData::BusinessHoursSaved {
                calendar_id: CalendarId::new(),
                name: "Москва".into(),
            },
            EventData::SlaPolicySaved {
                policy_id: SlaPolicyId::new(),
                name: "Chat".into(),
            },
            EventData::SlaPolicyDeleted {
                policy_id: SlaPolicyId::new(),
            },
            EventData::SlaWarning {
                ticket_id: TicketId::new(),
                policy_id: SlaPolicyId::new(),
                metric: crate::sla::Metric::FirstReply,
                cycle: 0,
                due_at: 1_800_000_000_000,
            },
            EventData::SlaBreached {
                ticket_id: TicketId::new(),
                policy_id: SlaPolicyId::new(),
                metric: crate::sla::Metric::NextReply,
                cycle: 2,
                due_at: 1_800_000_000_000,
            },
            EventData::MacroSaved {
                macro_id: MacroId::new(),
                name: "Где заказ".into(),
            },
            EventData::MacroDeleted {
                macro_id: MacroId::new(),
            },
            EventData::RuleSaved {
                rule_id: RuleId::new(),
                name: "Returns".into(),
            },
            EventData::RuleDeleted {
                rule_id: RuleId::new(),
            },
            EventData::RuleFired {
                ticket_id: TicketId::new(),
                rule_id: RuleId::new(),
                name: "Returns".into(),
                failed: vec!["actions[1] assign: no such agent".into()],
            },
            EventData::AgentsNotified {
                ticket_id: TicketId::new(),
                user_ids: vec![UserId::new()],
                text: "VIP".into(),
            },
            EventData::Mentioned {
                ticket_id: TicketId::new(),
                message_id: MessageId::new(),
                user_ids: vec![UserId::new()],
            },
            EventData::TicketMerged {
                ticket_id: TicketId::new(),
                source_id: TicketId::new(),
                source_number: 7,
                messages: 3,
            },
            EventData::ReminderDue {
                ticket_id: TicketId::new(),
                reminder_id: ReminderId::new(),
                user_id: UserId::new(),
                note: "Перезвонить".into(),
            },
            EventData::WebhookSaved {
                webhook_id: WebhookId::new(),
            },
            EventData::WebhookDeleted {
                webhook_id: WebhookId::new(),
            },
            EventData::WebhookDisabled {
                webhook_id: WebhookId::new(),
                reason: "20 deliveries failed in a row".into(),
            },
            EventData::OrganizationCreated {
                organization_id: OrganizationId::new(),
                name: "ООО Ромашка".into(),
            },
            EventData::OrganizationUpdated {
                organization_id: OrganizationId::new(),
                changes: vec![change()],
                linked: 3,
            },
            EventData::OrganizationDeleted {
                organization_id: OrganizationId::new(),
                name: "ООО Ромашка".into(),
            },
            EventData::TicketSplit {
                ticket_id: TicketId::new(),
                into_id: TicketId::new(),
                into_number: 1043,
                message_id: MessageId::new(),
            },
            EventData::FollowerAdded {
                ticket_id: TicketId::new(),
                user_id: UserId::new(),
            },
            EventData::FollowerRemoved {
                ticket_id: TicketId::new(),
                user_id: UserId::new(),
            },
            EventData::SideStarted {
                ticket_id: TicketId::new(),
                side_id: SideId::new(),
                subject: "Возврат по заказу 1042".into(),
                team_id: None,
                address: Some("warehouse@partner.example".into()),
            },
            EventData::SideMessageAdded {
                ticket_id: TicketId::new(),
                side_id: SideId::new(),
                side_message_id: SideMessageId::new(),
                outside: true,
            },
            EventData::SideStateChanged {
                ticket_id: TicketId::new(),
                side_id: SideId::new(),
                open: false,
            },
            EventData::SurveySent {
                survey_id: SurveyId::new(),
                ticket_id: Some(TicketId::new()),
                customer_id: CustomerId::new(),
                survey_kind: "csat".into(),
            },
            EventData::SurveyAnswered {
                survey_id: SurveyId::new(),
                ticket_id: Some(TicketId::new()),
                customer_id: CustomerId::new(),
                survey_kind: "csat".into(),
                score: 2,
                comment: "долго ждала ответа".into(),
                replaced: false,
                previous: None,
            },
            EventData::SurveyOptedOut {
                customer_id: CustomerId::new(),
                opted_out: true,
            },
            EventData::CustomerErased {
                customer_id: CustomerId::new(),
                profiles: 2,
                tickets: 3,
                messages: 12,
                attachments: 1,
                orders: 2,
                touchpoints: 40,
                events: 80,
            },
            EventData::ReviewSaved {
                ticket_id: TicketId::new(),
                review_id: ReviewId::new(),
                agent_id: UserId::new(),
                scorecard_id: ScorecardId::new(),
                score: 81.25,
                replaced: false,
            },
            EventData::TrendDetected {
                trend_id: TrendId::new(),
                key: "term:колонка".into(),
                observed: 9,
                expected: 0.5,
                p_value: 1.5e-9,
                ticket_ids: vec![TicketId::new()],
            },
        ];
        for e in &all {
            match e {
                EventData::WorkspaceCreated { .. }
                | EventData::UserCreated { .. }
                | EventData::UserUpdated { .. }
                | EventData::TeamCreated { .. }
                | EventData::TeamUpdated { .. }
                | EventData::TokenCreated { .. }
                | EventData::TokenRevoked { .. }
                | EventData::FieldCreated { .. }
                | EventData::FieldUpdated { .. }
                | EventData::CustomerCreated { .. }
                | EventData::CustomerUpdated { .. }
                | EventData::IdentityAdded { .. }
                | EventData::CustomersMerged { .. }
                | EventData::MergeSuggested { .. }
                | EventData::SuggestionDismissed { .. }
                | EventData::IdentityUpdated { .. }
                | EventData::OrganizationCreated { .. }
                | EventData::OrganizationUpdated { .. }
                | EventData::OrganizationDeleted { .. }
                | EventData::TicketSplit { .. }
                | EventData::FollowerAdded { .. }
                | EventData::FollowerRemoved { .. }
                | EventData::SideStarted { .. }
                | EventData::SideMessageAdded { .. }
                | EventData::SideStateChanged { .. }
                | EventData::SurveySent { .. }
                | EventData::SurveyAnswered { .. }
                | EventData::SurveyOptedOut { .. }
                | EventData::CustomerErased { .. }
                | EventData::ReviewSaved { .. }
                | EventData::TrendDetected { .. }
                | EventData::OrderCreated { .. }
                | EventData::OrderStatusChanged { .. }
                | EventData::ShipmentUpdated { .. }
                | EventData::CustomerAtRisk { .. }
                | EventData::OutreachSent { .. }
                | EventData::OutreachSkipped { .. }
                | EventData::MessageTriaged { .. }
                | EventData::TriageCorrected { .. }
                | EventData::BotAnswered { .. }
                | EventData::BotFeedback { .. }
                | EventData::BotHandedOff { .. }
                | EventData::TicketCreated { .. }
                | EventData::TicketUpdated { .. }
                | EventData::MessageAdded { .. }
                | EventData::DeliveryChanged { .. }
                | EventData::FilesAdded { .. }
                | EventData::MailboxCreated { .. }
                | EventData::MailboxUpdated { .. }
                | EventData::ChannelCreated { .. }
                | EventData::ChannelUpdated { .. }
                | EventData::AutoReplySent { .. }
                | EventData::ArticleSaved { .. }
                | EventData::FaqSaved { .. }
                | EventData::TicketEscalated { .. }
                | EventData::CollaboratorAdded { .. }
                | EventData::CollaboratorRemoved { .. }
                | EventData::SolutionMarked { .. }
                | EventData::BusinessHoursSaved { .. }
                | EventData::SlaPolicySaved { .. }
                | EventData::SlaPolicyDeleted { .. }
                | EventData::SlaWarning { .. }
                | EventData::SlaBreached { .. }
                | EventData::MacroSaved { .. }
                | EventData::MacroDeleted { .. }
                | EventData::RuleSaved { .. }
                | EventData::RuleDeleted { .. }
                | EventData::RuleFired { .. }
                | EventData::WebhookSaved { .. }
                | EventData::WebhookDeleted { .. }
                | EventData::WebhookDisabled { .. }
                | EventData::AgentsNotified { .. }
                | EventData::Mentioned { .. }
                | EventData::TicketMerged { .. }
                | EventData::ReminderDue { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_event_reads_back_as_the_variant_it_was_stored_as() {
        let mut kinds = std::collections::BTreeSet::new();
        for e in one_of_each() {
            let (kind, data) = e.to_stored().unwrap();
            assert!(data.is_object(), "{kind}: data is the variant's fields");
            assert!(
                data.get("kind").is_none()
                    || matches!(
                        kind,
                        "customer.identity_added"
                            | "customer.merge_suggested"
                            | "customer.identity_updated"
                    )
            );
            // Stored as text, read back from text.
            let text = data.to_string();
            let back = EventData::from_stored(kind, serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(back, e);
            assert!(kinds.insert(kind), "kind {kind} used twice");
        }
        let listed: std::collections::BTreeSet<&str> = EventData::KINDS.iter().copied().collect();
        assert_eq!(kinds, listed, "KINDS lists every kind, once");
    }

    /// After erasure an event about a customer or a ticket keeps strings only
    /// where they name a state, a kind or a rule, never where a person wrote
    /// or was named: a new variant with free text fails here until
    /// `erase_personal` blanks it (or it is listed as harmless).
    #[test]
    fn erasure_leaves_no_free_text_in_a_persons_events() {
        const STATES: &[&str] = &[
            "status",
            "priority",
            "channel",
            "visibility",
            "author_kind",
            "state",
            "field",
            "sentiment",
            "lang",
            "category",
            "survey_kind",
            "metric",
            "kind",
        ];
        let named = |kind: &str, key: &str| match kind {
            "rule.fired" => matches!(key, "name" | "failed"),
            "bot.handed_off" => key == "reason",
            "bot.answered" => key == "flow",
            "customer.merge_suggested" => key == "reason",
            "customer.at_risk" => key == "reasons",
            "message.triage_corrected" | "order.status_changed" | "order.shipment_updated" => {
                matches!(key, "from" | "to")
            }
            _ => false,
        };
        fn strings<'a>(v: &'a Value, key: &'a str, out: &mut Vec<(&'a str, &'a str)>) {
            match v {
                Value::String(s) => out.push((key, s)),
                Value::Array(a) => a.iter().for_each(|x| strings(x, key, out)),
                Value::Object(o) => o.iter().for_each(|(k, x)| strings(x, k, out)),
                _ => {}
            }
        }
        let mut blanked = 0;
        for mut e in one_of_each() {
            if e.ticket_id().is_none() && e.customer_id().is_none() {
                continue;
            }
            blanked += usize::from(e.erase_personal());
            let (kind, data) = e.to_stored().unwrap();
            let mut found = Vec::new();
            strings(&data, "", &mut found);
            for (key, s) in found {
                let harmless = s.is_empty()
                    || uuid::Uuid::parse_str(s).is_ok()
                    || STATES.contains(&key)
                    || named(kind, key)
                    // A change keeps its from/to only for a field that is not personal.
                    || (matches!(key, "from" | "to") && kind == "ticket.updated");
                assert!(harmless, "{kind}: {key} = {s:?} survives erasure");
            }
            // Erased once, nothing is left to erase.
            assert!(!e.erase_personal(), "{kind}");
        }
        assert!(blanked >= 15, "{blanked} events blanked");
    }

    #[test]
    fn unknown_kinds_and_mistyped_data_are_refused_by_name() {
        let err = EventData::from_stored("ticket.exploded", serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("ticket.exploded"), "{err}");
        let err = EventData::from_stored(
            "message.delivery_changed",
            serde_json::json!({"ticket_id": TicketId::new(), "message_id": MessageId::new(), "state": "lost", "error": null}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("lost"), "{err}");
    }

    #[test]
    fn actors_read_back_from_kind_and_id() {
        let all = [
            Actor::User(UserId::new()),
            Actor::Customer(CustomerId::new()),
            Actor::Integration(TokenId::new()),
            Actor::Rule(RuleId::new()),
            Actor::Automation(AutomationId::new()),
            Actor::Bot,
            Actor::System,
        ];
        for a in all {
            assert_eq!(Actor::from_parts(a.kind(), a.id()).unwrap(), a);
        }
        assert!(Actor::from_parts("user", None).is_err());
        assert!(Actor::from_parts("martian", None).is_err());
        assert!(Actor::Rule(RuleId::new()).is_automatic());
        assert!(!Actor::Integration(TokenId::new()).is_automatic());
    }

    #[test]
    fn only_real_changes_are_recorded() {
        let mut changes = Vec::new();
        let mut name = "Anna".to_string();
        record(&mut changes, "name", &mut name, "Anna".to_string());
        assert!(changes.is_empty());
        record(&mut changes, "name", &mut name, "Анна".to_string());
        assert_eq!(name, "Анна");
        assert_eq!(
            changes,
            vec![Change {
                field: Cow::Borrowed("name"),
                from: Value::from("Anna"),
                to: Value::from("Анна")
            }]
        );
    }
}
