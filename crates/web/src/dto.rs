//! Wire types: what the API reads and writes. Kept apart from the core types, which
//! need not be serialisable; conversions live here.

use domain::ticket::{Channel, Priority, Status, Visibility};
use engine::model::{
    ApiToken, Attachment, Cursor, Customer, EventRecord, Field, Message, Team, Ticket, User,
    Workspace,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use uuid::Uuid;

macro_rules! enum_schema {
    ($($f:ident => $t:ty),* $(,)?) => {$(
        pub fn $f() -> utoipa::openapi::schema::Object {
            ObjectBuilder::new().schema_type(Type::String).enum_values(Some(<$t>::ALL.iter().map(|v| v.as_str()))).build()
        }
    )*};
}
enum_schema!(
    status_schema => Status,
    priority_schema => Priority,
    channel_schema => Channel,
    visibility_schema => Visibility,
    role_schema => domain::user::Role,
    identity_kind_schema => domain::identity::IdentityKind,
    field_type_schema => domain::fields::FieldType,
    field_target_schema => domain::fields::FieldTarget,
    author_kind_schema => domain::ticket::AuthorKind,
    delivery_schema => domain::ticket::DeliveryState,
);

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One page of a list.
#[derive(Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkspaceOut {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub default_language: String,
    pub time_zone: String,
    pub created_at: String,
}

impl From<Workspace> for WorkspaceOut {
    fn from(w: Workspace) -> Self {
        WorkspaceOut {
            id: w.id.0,
            name: w.name,
            display_name: w.display_name,
            default_language: w.default_language,
            time_zone: w.time_zone,
            created_at: w.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[schema(schema_with = role_schema)]
    pub role: domain::user::Role,
    pub tier: i64,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// Tickets at once on channels `channel_capacity` does not list.
    pub capacity: i64,
    /// Tickets at once per channel, e.g. `{"chat": 4, "email": 10}`.
    pub channel_capacity: BTreeMap<String, i64>,
    pub presence: String,
    pub active: bool,
    pub team_ids: Vec<Uuid>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<engine::people::UserView> for UserOut {
    fn from(v: engine::people::UserView) -> Self {
        let u: User = v.user;
        UserOut {
            id: u.id.0,
            email: u.email,
            name: u.name,
            role: u.role,
            tier: u.tier,
            languages: u.languages,
            skills: u.skills,
            capacity: u.capacity,
            channel_capacity: u.channel_capacity,
            presence: u.presence,
            active: u.active,
            team_ids: v.team_ids.into_iter().map(|t| t.0).collect(),
            created_at: u.created_at.to_rfc3339(),
            updated_at: u.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeOut {
    pub user: UserOut,
    pub workspace: WorkspaceOut,
    /// Present for browser sessions: send it as X-CSRF-Token on changes.
    pub csrf_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserIn {
    #[schema(
        min_length = 5,
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
    )]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(schema_with = role_schema)]
    pub role: Option<domain::user::Role>,
    /// Optional: a user without a password signs in once one is set.
    #[schema(min_length = 8, max_length = 256)]
    pub password: Option<String>,
    #[schema(minimum = 1, maximum = 3)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub team_ids: Vec<Uuid>,
    /// Tickets at once per channel (0 to 1,000 each).
    #[serde(default, deserialize_with = "domain::number::whole_map")]
    pub channel_capacity: BTreeMap<String, i64>,
    #[schema(minimum = 0, maximum = 1000)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub capacity: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUserIn {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(schema_with = role_schema)]
    pub role: Option<domain::user::Role>,
    #[schema(minimum = 1, maximum = 3)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    pub languages: Option<Vec<String>>,
    pub skills: Option<Vec<String>>,
    pub team_ids: Option<Vec<Uuid>>,
    #[schema(minimum = 0, maximum = 1000)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub capacity: Option<i64>,
    /// Replaces every channel's capacity.
    #[serde(default, deserialize_with = "domain::number::whole_map_opt")]
    pub channel_capacity: Option<BTreeMap<String, i64>>,
    pub presence: Option<String>,
    pub active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct TeamOut {
    pub id: Uuid,
    pub name: String,
    pub tier: i64,
    /// How the team gives out tickets: `manual`, `round_robin`,
    /// `least_loaded` or `skills`.
    pub routing: String,
    /// Seconds a ticket stays with an agent who went offline before it goes
    /// back to the queue; `null`: it stays.
    pub reroute_after_s: Option<i64>,
    /// The team an escalation goes to.
    pub escalate_to: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<Uuid>>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Team> for TeamOut {
    fn from(t: Team) -> Self {
        TeamOut {
            id: t.id.0,
            name: t.name,
            tier: t.tier,
            routing: t.routing.as_str().to_owned(),
            reroute_after_s: t.reroute_after_s,
            escalate_to: t.escalate_to.map(|x| x.0),
            member_ids: None,
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamIn {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(minimum = 1, maximum = 3)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    /// `manual` (the default), `round_robin`, `least_loaded` or `skills`.
    pub routing: Option<String>,
    #[schema(minimum = 0, maximum = 604800)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub reroute_after_s: Option<i64>,
    pub escalate_to: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeamIn {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[schema(minimum = 1, maximum = 3)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    pub routing: Option<String>,
    #[serde(default, deserialize_with = "domain::number::whole_opt_opt")]
    pub reroute_after_s: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub escalate_to: Option<Option<Uuid>>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct IdentityIo {
    #[schema(schema_with = identity_kind_schema)]
    pub kind: domain::identity::IdentityKind,
    #[schema(min_length = 1, max_length = 255)]
    pub value: String,
}

/// An identity of a customer as stored: how far it is trusted, and whether it is
/// shared by several people.
#[derive(Serialize, ToSchema)]
pub struct IdentityOut {
    pub id: Uuid,
    #[schema(schema_with = identity_kind_schema)]
    pub kind: domain::identity::IdentityKind,
    pub value: String,
    /// A channel proved it (mail from the address, a messenger account, caller
    /// id, a signed widget identity, an agent or integration). `false`: the
    /// person only typed it; it never links them to someone else's profile.
    pub verified: bool,
    /// Used by several people (an office line): it does not link a new
    /// channel's profile to this one by itself.
    pub shared: bool,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerOut {
    pub id: Uuid,
    pub name: String,
    pub language: Option<String>,
    pub notes: String,
    /// Set when this profile was merged into another.
    pub merged_into: Option<Uuid>,
    pub identities: Vec<IdentityOut>,
    /// Segments such as `vip`: SLA policies select by them.
    pub tags: Vec<String>,
    /// Asked not to be written to first: outreach skips them.
    pub outreach_opt_out: bool,
    /// Since when two bad experiences in a row flag them at risk.
    pub at_risk_since: Option<String>,
    /// The organisation they belong to.
    pub organization_id: Option<Uuid>,
    /// Values of the workspace's customer fields, by key.
    pub custom_fields: Map<String, Value>,
    /// When their personal data was erased on request: the profile then only
    /// keeps what is counted and takes nothing new.
    pub erased_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Customer> for CustomerOut {
    fn from(c: Customer) -> Self {
        CustomerOut {
            id: c.id.0,
            name: c.name,
            language: c.language,
            notes: c.notes,
            merged_into: c.merged_into.map(|m| m.0),
            tags: c.tags,
            outreach_opt_out: c.outreach_opt_out,
            at_risk_since: c.at_risk_since.map(|t| t.to_rfc3339()),
            erased_at: c.erased_at.map(|t| t.to_rfc3339()),
            organization_id: c.organization_id.map(|o| o.0),
            custom_fields: c.custom_fields,
            identities: c
                .identities
                .into_iter()
                .map(|i| IdentityOut {
                    id: i.id.0,
                    kind: i.kind,
                    value: i.value,
                    verified: i.verified,
                    shared: i.shared,
                    created_at: i.created_at.to_rfc3339(),
                })
                .collect(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// A customer described by name and identities; any identity finds an existing one.
#[derive(Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub language: Option<String>,
    #[schema(
        min_length = 5,
        max_length = 254,
        pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
    )]
    pub email: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub phone: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub telegram: Option<String>,
    #[schema(min_length = 1, max_length = 32)]
    pub whatsapp: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub vk: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub facebook: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub instagram: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub viber: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    pub external: Option<String>,
    #[serde(default)]
    pub identities: Vec<IdentityIo>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCustomerIn {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// The customer asked not to be written to first (or no longer minds).
    pub outreach_opt_out: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    pub language: Option<Option<String>>,
    pub notes: Option<String>,
    /// Identities to add.
    #[serde(default)]
    pub identities: Vec<IdentityIo>,
    /// Replaces every tag (at most 50).
    pub tags: Option<Vec<String>>,
    /// The organisation they belong to; `null` takes them out of it. 404
    /// when it names no organisation of the workspace.
    #[serde(default, deserialize_with = "double_option")]
    pub organization_id: Option<Option<Uuid>>,
    /// Merged into their fields (the workspace's `customer` fields); a
    /// `null` value removes one.
    pub custom_fields: Option<Map<String, Value>>,
}

/// Another profile that may be the same person.
#[derive(Serialize, ToSchema)]
pub struct SuggestionOut {
    pub id: Uuid,
    /// The other profile: merge it into this one with `POST …/merge`.
    pub customer_id: Uuid,
    pub name: String,
    /// Why it was not linked automatically: `claimed` (one only typed an
    /// address or number the other has), `shared_identity` (the number is marked
    /// shared), `names_differ` (the same number under names that disagree),
    /// `two_profiles` (one message named identities of both).
    #[schema(value_type = String, example = "claimed")]
    pub reason: &'static str,
    /// The identity both were seen with.
    pub identity: IdentityIo,
    pub created_at: String,
}

impl From<engine::model::Suggestion> for SuggestionOut {
    fn from(s: engine::model::Suggestion) -> Self {
        SuggestionOut {
            id: s.id.0,
            customer_id: s.other_id.0,
            name: s.other_name,
            reason: s.reason.as_str(),
            identity: IdentityIo {
                kind: s.kind,
                value: s.value,
            },
            created_at: s.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<SuggestionOut>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityPatchIn {
    /// Shared by several people: it then never links profiles by itself.
    pub shared: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIn {
    /// The customer merged into the one in the path.
    pub source_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct TicketOut {
    pub id: Uuid,
    pub number: i64,
    pub subject: String,
    #[schema(schema_with = status_schema)]
    pub status: Status,
    #[schema(schema_with = priority_schema)]
    pub priority: Priority,
    #[schema(schema_with = channel_schema)]
    pub channel: Channel,
    pub customer_id: Uuid,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub tier: i64,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub follow_up_of: Option<Uuid>,
    /// The channel account (a mailbox, a messenger bot) the ticket came in
    /// through; replies leave by it. Empty for tickets opened in the app or API.
    pub account_id: Option<Uuid>,
    /// Addresses that get copies of public replies, confirmed by an agent.
    pub cc: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub solved_at: Option<String>,
    pub closed_at: Option<String>,
    /// Snoozed until then: it opens again at that moment.
    pub snoozed_until: Option<String>,
    /// Merged into that ticket (and closed): its messages are there.
    pub merged_into: Option<Uuid>,
    /// The SLA that applies and its clocks, derived from the ticket's events
    /// moments after each change; `null` when no policy covers the ticket (or
    /// not yet derived).
    pub sla: Option<crate::sla_api::TicketSlaOut>,
}

impl From<Ticket> for TicketOut {
    fn from(t: Ticket) -> Self {
        TicketOut {
            id: t.id.0,
            number: t.number,
            subject: t.subject,
            status: t.status,
            priority: t.priority,
            channel: t.channel,
            customer_id: t.customer_id.0,
            assignee_id: t.assignee_id.map(|x| x.0),
            team_id: t.team_id.map(|x| x.0),
            tier: t.tier,
            category: t.category,
            tags: t.tags,
            custom_fields: t.custom_fields,
            follow_up_of: t.follow_up_of.map(|x| x.0),
            account_id: t.account_id.map(|x| x.0),
            cc: t.cc,
            created_at: t.created_at.to_rfc3339(),
            updated_at: t.updated_at.to_rfc3339(),
            solved_at: t.solved_at.map(|x| x.to_rfc3339()),
            closed_at: t.closed_at.map(|x| x.to_rfc3339()),
            snoozed_until: t.snoozed_until.map(|x| x.to_rfc3339()),
            merged_into: t.merged_into.map(|x| x.0),
            sla: None,
        }
    }
}

/// The message body of a new ticket or reply.
#[derive(Deserialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct BodyIn {
    /// Plain text.
    #[serde(default)]
    pub body: String,
    /// HTML; sanitised before it is stored.
    pub html: Option<String>,
    /// Ids of uploaded attachments.
    #[serde(default)]
    pub attachments: Vec<Uuid>,
    /// The source system's id for this message; repeats are recognised.
    pub external_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketIn {
    pub subject: String,
    #[schema(schema_with = channel_schema)]
    pub channel: Option<Channel>,
    #[schema(schema_with = priority_schema)]
    pub priority: Option<Priority>,
    pub customer_id: Option<Uuid>,
    pub customer: Option<CustomerIn>,
    pub message: BodyIn,
    #[serde(default)]
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// Who wrote the first message: the customer (as they wrote in, or as an
    /// agent logs it; the default) or the acting agent, whose message starts
    /// the conversation and is delivered to the customer — by email (the
    /// customer needs an email address and the workspace a mailbox that
    /// sends) or through the API channel's webhook. 409 for another channel.
    #[serde(default)]
    pub author: FirstAuthor,
    /// Where the ticket goes once created ("submit as"); an agent's first
    /// message makes it open when this is left out. 409 for a status a new
    /// ticket cannot move to, and for solved with a required field missing.
    #[schema(schema_with = status_schema)]
    pub status: Option<Status>,
    /// Addresses that get copies of public replies (at most 20).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub cc: Vec<String>,
    /// The channel account the ticket belongs to: replies leave by it (for
    /// an agent's first email, the mailbox it leaves from; else the
    /// workspace's first mailbox that sends). 409 when it names no account
    /// of the ticket's channel, or a mailbox that does not send.
    pub account_id: Option<Uuid>,
}

/// Who wrote a new ticket's first message.
#[derive(Deserialize, ToSchema, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum FirstAuthor {
    #[default]
    Customer,
    Agent,
}

/// What a person chose for themselves.
#[derive(Serialize, ToSchema)]
pub struct PreferencesOut {
    /// The interface language; `null`: the browser's, then the workspace's.
    pub language: Option<String>,
    /// `null`: the workspace's.
    pub time_zone: Option<String>,
    /// Added under their email replies from the workspace.
    pub signature: String,
    pub notify: NotifyOut,
}

/// Which alerts their pages give.
#[derive(Serialize, ToSchema)]
pub struct NotifyOut {
    /// A customer wrote on a ticket assigned to them.
    pub replied: bool,
    /// A ticket was assigned to them, or they were invited as an expert.
    pub assigned: bool,
    /// A colleague's note mentioned them.
    pub mentioned: bool,
    /// Their reminders, their snoozed tickets waking, rules naming them.
    pub reminders: bool,
    /// Alerts also as desktop notifications.
    pub desktop: bool,
    /// The weekly and monthly report emails (supervisors and admins).
    pub reports: bool,
}

impl From<domain::user::Preferences> for PreferencesOut {
    fn from(p: domain::user::Preferences) -> Self {
        let n = p.notify;
        PreferencesOut {
            language: p.language,
            time_zone: p.time_zone,
            signature: p.signature,
            notify: NotifyOut {
                replied: n.replied,
                assigned: n.assigned,
                mentioned: n.mentioned,
                reminders: n.reminders,
                desktop: n.desktop,
                reports: n.reports,
            },
        }
    }
}

/// An interface language.
#[derive(Deserialize, ToSchema, Clone, Copy, Debug)]
#[serde(rename_all = "snake_case")]
pub enum UiLanguage {
    En,
    Ru,
    Th,
}

impl UiLanguage {
    pub fn as_str(self) -> &'static str {
        match self {
            UiLanguage::En => "en",
            UiLanguage::Ru => "ru",
            UiLanguage::Th => "th",
        }
    }
}

/// Changes to one's own preferences; what is left out stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesIn {
    /// `null` goes back to the browser's language, then the workspace's.
    #[serde(default, deserialize_with = "double_option")]
    pub language: Option<Option<UiLanguage>>,
    /// An IANA zone such as `Asia/Bangkok`; `null` goes back to the
    /// workspace's. 409 for a well-formed name the zone database lacks.
    #[serde(default, deserialize_with = "double_option")]
    pub time_zone: Option<Option<String>>,
    /// At most 2,000 characters (trailing space dropped); empty for none.
    pub signature: Option<String>,
    pub notify: Option<NotifyIn>,
}

/// Alerts to turn on or off; what is left out stays.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NotifyIn {
    pub replied: Option<bool>,
    pub assigned: Option<bool>,
    pub mentioned: Option<bool>,
    pub reminders: Option<bool>,
    pub desktop: Option<bool>,
    pub reports: Option<bool>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchTicketIn {
    pub subject: Option<String>,
    #[schema(schema_with = status_schema)]
    pub status: Option<Status>,
    #[schema(schema_with = priority_schema)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub tier: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// Merged into the ticket's fields; null removes a field.
    pub custom_fields: Option<Map<String, Value>>,
    /// Replaces the addresses that get copies of public replies (at most 20).
    /// Nobody else but the ticket's customer receives a reply.
    #[schema(max_items = 20)]
    pub cc: Option<Vec<String>>,
    /// Snoozes the ticket until this RFC 3339 time (ahead, within a year): it
    /// waits as pending and opens again then; `null` ends a snooze. A reply
    /// from the customer or another status also ends it. 409 for a moment
    /// past or more than a year ahead, and for a solved or closed ticket.
    #[serde(default, deserialize_with = "double_option")]
    pub snoozed_until: Option<Option<String>>,
}

/// A reminder to the caller about a ticket.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderIn {
    /// When (RFC 3339; ahead, within a year — 409 otherwise).
    pub at: String,
    /// What to remember (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReminderOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub due_at: String,
    pub note: String,
    pub created_at: String,
}

impl From<engine::reminders::Reminder> for ReminderOut {
    fn from(r: engine::reminders::Reminder) -> Self {
        ReminderOut {
            id: r.id.0,
            ticket_id: r.ticket_id.0,
            due_at: r.due_at.to_rfc3339(),
            note: r.note,
            created_at: r.created_at.to_rfc3339(),
        }
    }
}

/// Which ticket to merge this one into.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeTicketIn {
    /// The target ticket's id or number.
    #[schema(max_length = 40)]
    pub into: String,
}

/// The message to move into a new ticket.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitTicketIn {
    pub message_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTicketOut {
    #[serde(flatten)]
    pub ticket: TicketOut,
    pub message: MessageOut,
    /// The first message's external id was seen before; nothing new was created.
    pub duplicate: bool,
}

#[derive(Deserialize, ToSchema, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthorIn {
    #[default]
    Agent,
    Customer,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessageIn {
    #[serde(default)]
    pub body: String,
    pub html: Option<String>,
    #[schema(schema_with = visibility_schema)]
    pub visibility: Option<Visibility>,
    /// `customer` posts on behalf of the ticket's customer (relaying a channel).
    #[serde(default)]
    pub author: AuthorIn,
    /// Also move the ticket to this status.
    #[schema(schema_with = status_schema)]
    pub status: Option<Status>,
    #[serde(default)]
    pub attachments: Vec<Uuid>,
    pub external_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorOut {
    #[schema(schema_with = author_kind_schema)]
    pub kind: domain::ticket::AuthorKind,
    pub user_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    #[schema(schema_with = delivery_schema)]
    pub state: domain::ticket::DeliveryState,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub message_id: Option<Uuid>,
    pub created_at: String,
}

impl From<Attachment> for AttachmentOut {
    fn from(a: Attachment) -> Self {
        AttachmentOut {
            id: a.id.0,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            message_id: a.message_id.map(|m| m.0),
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    #[schema(schema_with = visibility_schema)]
    pub visibility: Visibility,
    pub author: AuthorOut,
    #[schema(schema_with = channel_schema)]
    pub channel: Channel,
    pub body: String,
    /// Byte offset in `body` where quoted history or a signature begins: clients
    /// show what precedes it and fold the rest.
    pub folded_from: Option<usize>,
    /// Sanitised HTML.
    pub html: Option<String>,
    pub external_id: Option<String>,
    /// The channel account the message came in or left by.
    pub account_id: Option<Uuid>,
    pub delivery: Option<DeliveryOut>,
    pub attachments: Vec<AttachmentOut>,
    pub created_at: String,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        MessageOut {
            id: m.id.0,
            ticket_id: m.ticket_id.0,
            visibility: m.visibility,
            author: AuthorOut {
                kind: m.author_kind,
                user_id: m.author_user_id.map(|u| u.0),
                customer_id: m.author_customer_id.map(|c| c.0),
            },
            channel: m.channel,
            folded_from: domain::text::fold_point(&m.body_text),
            body: m.body_text,
            html: m.body_html,
            external_id: m.external_id,
            account_id: m.account_id.map(|x| x.0),
            delivery: m.delivery_state.map(|state| DeliveryOut {
                state,
                // Kept as a message with its code; the API gives the English.
                error: m
                    .delivery_error
                    .map(|e| domain::Message::from_stored(&e).to_string()),
            }),
            attachments: m.attachments.into_iter().map(Into::into).collect(),
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PostedMessageOut {
    #[serde(flatten)]
    pub message: MessageOut,
    /// The ticket after the message (a follow-up when the original was closed).
    pub ticket: TicketOut,
    pub duplicate: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ActorOut {
    /// `user`, `customer`, `bot` or `system`.
    pub kind: String,
    pub id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    /// The event's id; also its position in a ticket's or customer's history.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub id: String,
    /// Position in the workspace's stream: pass as `after` to read what follows.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub cursor: String,
    pub kind: String,
    pub ticket_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub actor: ActorOut,
    pub data: Value,
    pub created_at: String,
}

impl EventOut {
    /// The event as its workspace sees it: positions spelled by `codec`.
    pub fn new(e: EventRecord, codec: &engine::cursor::CursorCodec) -> Self {
        // Serialising a typed event cannot fail (string keys, no maps of other keys).
        let data = e.data.to_stored().map(|(_, d)| d).unwrap_or_default();
        EventOut {
            id: codec.encode(Cursor { tx: 0, id: e.id }),
            cursor: codec.encode(Cursor::of(&e)),
            kind: e.kind().to_owned(),
            ticket_id: e.ticket_id.map(|t| t.0),
            customer_id: e.customer_id.map(|c| c.0),
            actor: ActorOut {
                kind: e.actor.kind().to_owned(),
                id: e.actor.id(),
            },
            data,
            created_at: e.created_at.to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        TokenOut {
            id: t.id.0,
            user_id: t.user_id.0,
            name: t.name,
            created_at: t.created_at.to_rfc3339(),
            last_used_at: t.last_used_at.map(|x| x.to_rfc3339()),
            revoked_at: t.revoked_at.map(|x| x.to_rfc3339()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CreatedTokenOut {
    #[serde(flatten)]
    pub token: TokenOut,
    /// The secret; shown only now.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenIn {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Defaults to the caller.
    pub user_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct FieldOut {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    #[schema(schema_with = field_type_schema)]
    pub field_type: domain::fields::FieldType,
    pub options: Vec<String>,
    pub required: bool,
    /// Its place among the workspace's fields (lower first).
    pub position: i64,
    /// Archived: takes no new values and blocks no solve.
    pub archived: bool,
    /// What it describes: tickets, customers or organisations.
    #[schema(schema_with = field_target_schema)]
    pub applies_to: domain::fields::FieldTarget,
    pub created_at: String,
}

impl From<Field> for FieldOut {
    fn from(f: Field) -> Self {
        FieldOut {
            id: f.id.0,
            key: f.key,
            label: f.label,
            field_type: f.field_type,
            options: f.options,
            required: f.required,
            position: f.position,
            archived: f.archived,
            applies_to: f.applies_to,
            created_at: f.created_at.to_rfc3339(),
        }
    }
}

/// Changes to a custom field; absent keeps. The key and type never change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchFieldIn {
    pub label: Option<String>,
    /// A dropdown's options (409 for a field of another type).
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    #[schema(minimum = 0, maximum = 10000)]
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub position: Option<i64>,
    pub archived: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFieldIn {
    #[schema(pattern = r"^[a-z][a-z0-9_]{0,63}$")]
    pub key: String,
    pub label: String,
    #[schema(schema_with = field_type_schema)]
    pub field_type: domain::fields::FieldType,
    #[serde(default)]
    pub options: Vec<String>,
    /// Only ticket fields can be required (409 otherwise).
    #[serde(default)]
    pub required: bool,
    /// What it describes; tickets when left out.
    #[serde(default = "ticket_target")]
    #[schema(schema_with = field_target_schema)]
    pub applies_to: domain::fields::FieldTarget,
}

fn ticket_target() -> domain::fields::FieldTarget {
    domain::fields::FieldTarget::Ticket
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    pub workspace: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub remember: bool,
}

#[derive(Serialize, ToSchema)]
pub struct LoginOut {
    pub csrf_token: String,
    pub expires_at: String,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    #[schema(min_length = 8, max_length = 256)]
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWorkspaceIn {
    pub display_name: Option<String>,
    pub default_language: Option<String>,
    pub time_zone: Option<String>,
}

/// An escalation: why, and (optionally) to which team.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateIn {
    /// Why the ticket goes up; kept as an internal note (1 to 1,000 characters).
    pub reason: String,
    /// The team to escalate to; without it, the team's escalation team, else
    /// the next tier.
    pub team_id: Option<Uuid>,
}

/// An expert to invite onto a ticket.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollaboratorIn {
    pub user_id: Uuid,
}

/// A ticket's invited experts.
#[derive(Serialize, ToSchema)]
pub struct CollaboratorList {
    pub user_ids: Vec<Uuid>,
}

/// Someone to add to a ticket's followers.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowerIn {
    pub user_id: Uuid,
}

/// A ticket's followers.
#[derive(Serialize, ToSchema)]
pub struct FollowerList {
    pub user_ids: Vec<Uuid>,
}

/// Whether a note or reply is the ticket's solution.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionIn {
    pub solution: bool,
}

/// A solution marked on a similar ticket.
#[derive(Serialize, ToSchema)]
pub struct SolutionOut {
    pub ticket_id: Uuid,
    pub number: i64,
    pub subject: String,
    pub message_id: Uuid,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct SolutionList {
    pub items: Vec<SolutionOut>,
}
