//! Rules: triggers, which act on events, and automations, which act on time
//! ("pending for 3 days"). A rule is typed data — conditions over what is known
//! of a ticket, and actions — checked when it is saved ([`RuleSpec::validated`]),
//! so a rule that cannot run cannot be stored; [`CompiledRule`] holds it ready
//! for evaluation (regexes built once).

use crate::Code;
use crate::DomainError;
use crate::ids::{CalendarId, TeamId, UserId};
use crate::message;
use crate::ticket::{AuthorKind, Priority, Status};
use crate::wire_enum;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

wire_enum!(
    /// When a rule is considered.
    RuleKind { Trigger = "trigger", Automation = "automation" }
);

wire_enum!(
    /// What a trigger listens to.
    On {
        TicketCreated = "ticket.created",
        TicketUpdated = "ticket.updated",
        CustomerWrote = "customer.wrote",
        AgentReplied = "agent.replied",
        SlaWarning = "sla.warning",
        SlaBreached = "sla.breached",
        MessageTriaged = "message.triaged",
    }
);

wire_enum!(
    /// What a condition looks at. `message`: the text of the message that fired
    /// the trigger; `author`: who wrote it (customer, agent, bot, system);
    /// `language` and `customer_tags`: the customer's; `status_changed_to`: the
    /// status the firing event moved the ticket to; `hours_since_*`: whole hours since the
    /// ticket was created, last changed, or the customer last wrote;
    /// `open_hours`: whether a business-hours calendar is open now. The
    /// `triage_*`, `urgency`, `sentiment` and `message_language` fields are what
    /// triage read in that message (a customer's; unset until it has read it):
    /// its category key, how sure it is of it (percent), `urgent` or `normal`,
    /// `negative`, `neutral` or `positive`, and the language it is written in.
    Field {
        Status = "status",
        Priority = "priority",
        Channel = "channel",
        Team = "team",
        Assignee = "assignee",
        Tier = "tier",
        Tags = "tags",
        CustomerTags = "customer_tags",
        StatusChangedTo = "status_changed_to",
        Category = "category",
        Subject = "subject",
        Message = "message",
        Author = "author",
        Language = "language",
        HoursSinceCreated = "hours_since_created",
        HoursSinceUpdated = "hours_since_updated",
        HoursSinceCustomer = "hours_since_customer",
        OpenHours = "open_hours",
        TriageCategory = "triage_category",
        TriageConfidence = "triage_confidence",
        Urgency = "urgency",
        Sentiment = "sentiment",
        MessageLanguage = "message_language",
    }
);

wire_enum!(
    /// How a condition compares.
    Op {
        Is = "is",
        IsNot = "is_not",
        In = "in",
        NotIn = "not_in",
        Contains = "contains",
        NotContains = "not_contains",
        Matches = "matches",
        Gt = "gt",
        Lt = "lt",
        IsSet = "is_set",
        NotSet = "not_set",
    }
);

/// One condition: `{"field": "status", "op": "in", "value": ["new", "open"]}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    #[serde(default)]
    pub value: Value,
}

/// What a rule does, in order; each action succeeds or fails on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    SetStatus {
        status: Status,
    },
    SetPriority {
        priority: Priority,
    },
    SetTeam {
        team_id: Option<TeamId>,
    },
    SetTier {
        #[serde(deserialize_with = "crate::number::whole")]
        tier: i64,
    },
    SetCategory {
        category: Option<String>,
    },
    AddTags {
        tags: Vec<String>,
    },
    RemoveTags {
        tags: Vec<String>,
    },
    SetField {
        key: String,
        value: Value,
    },
    Assign {
        user_id: Option<UserId>,
    },
    /// A public reply to the customer, with `{{placeholders}}`; in the
    /// customer's language when `translations` has it (`ru` also serves
    /// `ru-RU`).
    Reply {
        body: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        translations: BTreeMap<String, String>,
    },
    /// An internal note, with `{{placeholders}}`.
    AddNote {
        body: String,
    },
    /// Tells agents in the app (and the team's members, when named); with
    /// `email`, also by email to each of them; with `telegram`, in their
    /// Telegram.
    Notify {
        #[serde(default)]
        user_ids: Vec<UserId>,
        team_id: Option<TeamId>,
        text: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        email: bool,
        /// Also in each agent's linked Telegram chat (agents without one are
        /// told in the app and, with `email`, by email only).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        telegram: bool,
    },
    /// POSTs the ticket as JSON to an address (signed with the workspace's
    /// webhook secret).
    Webhook {
        url: String,
    },
    Escalate {
        reason: String,
        team_id: Option<TeamId>,
    },
}

/// A rule as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub kind: RuleKind,
    /// Triggers: the events they listen to (at least one).
    #[serde(default)]
    pub on: Vec<On>,
    /// Every one must hold.
    #[serde(default)]
    pub all: Vec<Condition>,
    /// At least one must hold, when there are any.
    #[serde(default)]
    pub any: Vec<Condition>,
    pub actions: Vec<Action>,
}

/// Most conditions of either list, and most actions, per rule.
pub const MAX_CONDITIONS: usize = 30;
pub const MAX_ACTIONS: usize = 20;
/// The longest text a condition or an action carries.
pub const MAX_TEXT: usize = 5_000;
/// The most a pattern may compile to (bytes), so no rule costs unbounded time.
const REGEX_SIZE: usize = 256 * 1024;
/// The longest pattern (`matches`).
pub const MAX_PATTERN: usize = 200;
/// The patterns `matches` takes: alternatives (`|`) of literal characters,
/// escaped special characters, `.`, each optionally followed by `*`, `+` or
/// `?`, and the anchors `^` and `$`. No groups, classes or counted repeats:
/// every pattern of this grammar up to [`MAX_PATTERN`] characters compiles,
/// within [`REGEX_SIZE`], and runs in linear time. The same expression reads
/// the same in Rust, Python and ECMAScript, so the API document states it.
pub const PATTERN_GRAMMAR: &str = r"^(?:(?:[^\\.^$|?*+()\[\]{}]|\\[\\.^$|?*+()\[\]{}]|\.)[*+?]?|\^|\$)+(?:\|(?:(?:[^\\.^$|?*+()\[\]{}]|\\[\\.^$|?*+()\[\]{}]|\.)[*+?]?|\^|\$)+)*$";

fn grammar() -> &'static regex::Regex {
    static G: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    G.get_or_init(|| {
        regex::Regex::new(PATTERN_GRAMMAR)
            .unwrap_or_else(|e| unreachable!("the pattern grammar is a valid regex: {e}"))
    })
}

/// Most agents a `notify` names.
pub const MAX_NOTIFY: usize = 100;

fn bad(field: &str, msg: impl Into<crate::Message>) -> DomainError {
    DomainError::invalid(field, msg)
}

fn string_of<'a>(v: &'a Value, field: &str) -> Result<&'a str, DomainError> {
    v.as_str()
        .filter(|s| s.chars().count() <= MAX_TEXT)
        .ok_or_else(|| {
            bad(
                field,
                crate::Message::new(Code::RuleText).with("max_text", MAX_TEXT),
            )
        })
}

fn list_of<'a>(v: &'a Value, field: &str) -> Result<Vec<&'a str>, DomainError> {
    let items = v
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= 100)
        .ok_or_else(|| bad(field, Code::RuleValueList))?;
    items.iter().map(|x| string_of(x, field)).collect()
}

/// A condition's value, typed for its field and checked.
#[derive(Clone, Debug)]
enum Want {
    Texts(Vec<String>),
    Number(i64),
    Pattern(regex::Regex),
    Nothing,
}

impl Condition {
    /// The condition's value checked against its field and operator.
    fn want(&self, at: &str) -> Result<Want, DomainError> {
        use Field::*;
        use Op::*;
        let check_each = |vals: &[&str]| -> Result<(), DomainError> {
            for v in vals {
                let ok = match self.field {
                    Status | StatusChangedTo => crate::ticket::Status::parse(v).is_ok(),
                    Priority => crate::ticket::Priority::parse(v).is_ok(),
                    Channel => crate::ticket::Channel::parse(v).is_ok(),
                    Author => AuthorKind::parse(v).is_ok(),
                    Team => v.parse::<TeamId>().is_ok(),
                    Assignee => v.parse::<UserId>().is_ok(),
                    OpenHours => v.parse::<CalendarId>().is_ok(),
                    Language | MessageLanguage => crate::identity::normalize_language(v).is_ok(),
                    TriageCategory => crate::ticket::normalize_tag(v).is_ok(),
                    Urgency => crate::assist::URGENCIES.contains(v),
                    Sentiment => crate::assist::SENTIMENTS.contains(v),
                    _ => true,
                };
                if !ok {
                    return Err(bad(
                        at,
                        crate::Message::new(Code::RuleValue)
                            .with("v", format!("{:?}", v))
                            .with("field", self.field),
                    ));
                }
            }
            Ok(())
        };
        // Category keys are kept as tags are (trimmed, lower case).
        let texts = |v: Vec<&str>| {
            Want::Texts(
                v.into_iter()
                    .map(|x| match self.field {
                        TriageCategory => x.trim().to_lowercase(),
                        _ => x.to_lowercase(),
                    })
                    .collect(),
            )
        };
        let allowed: &[Op] = match self.field {
            Status | Priority | Channel | Author | Language | MessageLanguage | Sentiment => {
                &[Is, IsNot, In, NotIn]
            }
            Urgency => &[Is, IsNot],
            StatusChangedTo => &[Is, In],
            Team | Assignee | Category | TriageCategory => &[Is, IsNot, In, NotIn, IsSet, NotSet],
            TriageConfidence => &[Gt, Lt],
            Tier | HoursSinceCreated | HoursSinceUpdated | HoursSinceCustomer => {
                &[Is, IsNot, Gt, Lt]
            }
            Tags | CustomerTags => &[Contains, NotContains],
            Subject | Message => &[Contains, NotContains, Matches],
            OpenHours => &[Is, IsNot],
        };
        if !allowed.contains(&self.op) {
            return Err(bad(
                at,
                crate::Message::new(Code::RuleOperator)
                    .with("field", self.field)
                    .with("op", self.op)
                    .with(
                        "allowed",
                        allowed
                            .iter()
                            .map(|o| o.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
            ));
        }
        match (self.field, self.op) {
            (_, IsSet | NotSet) => Ok(Want::Nothing),
            (
                Tier | HoursSinceCreated | HoursSinceUpdated | HoursSinceCustomer
                | TriageConfidence,
                _,
            ) => {
                let n = crate::number::whole::<_, i64>(self.value.clone())
                    .map_err(|_| bad(at, Code::WholeNumber))?;
                let top = if self.field == TriageConfidence {
                    100
                } else {
                    100_000
                };
                if !(0..=top).contains(&n) {
                    return Err(bad(at, message::range(0, top)));
                }
                Ok(Want::Number(n))
            }
            (_, Matches) => {
                let p = string_of(&self.value, at)?;
                if p.chars().count() > MAX_PATTERN || !grammar().is_match(p) {
                    return Err(bad(
                        at,
                        crate::Message::new(Code::RulesPattern).with("max", MAX_PATTERN),
                    ));
                }
                regex::RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE)
                    .build()
                    .map(Want::Pattern)
                    .map_err(|e| {
                        bad(
                            at,
                            crate::Message::new(Code::RuleBadPattern).with("reason", e),
                        )
                    })
            }
            (_, In | NotIn) => {
                let v = list_of(&self.value, at)?;
                check_each(&v)?;
                Ok(texts(v))
            }
            _ => {
                let v = string_of(&self.value, at)?;
                if v.trim().is_empty() {
                    return Err(bad(at, Code::ValueNeeded));
                }
                check_each(&[v])?;
                Ok(texts(vec![v]))
            }
        }
    }
}

impl Action {
    /// The action's own values checked (`at` names it in errors).
    pub fn check(&self, at: &str) -> Result<(), DomainError> {
        let text = |s: &str, what: &str| -> Result<(), DomainError> {
            if s.trim().is_empty() || s.chars().count() > MAX_TEXT {
                Err(bad(&format!("{at}.{what}"), message::chars(1, MAX_TEXT)))
            } else {
                Ok(())
            }
        };
        match self {
            Action::SetTier { tier } if !(1..=3).contains(tier) => Err(bad(at, Code::RuleTier)),
            Action::AddTags { tags } | Action::RemoveTags { tags } => {
                if tags.is_empty() || tags.len() > 50 {
                    return Err(bad(at, Code::RuleTags));
                }
                for t in tags {
                    crate::ticket::normalize_tag(t).map_err(|e| bad(at, e.message()))?;
                }
                Ok(())
            }
            Action::SetCategory { category: Some(c) } if c.chars().count() > 100 => {
                Err(bad(at, Code::RuleCategory))
            }
            Action::SetField { key, .. } if key.is_empty() || key.chars().count() > 64 => {
                Err(bad(at, Code::RuleFieldKey))
            }
            Action::Reply { body, translations } => {
                if translations.len() > 20 {
                    return Err(bad(at, Code::RuleTranslations));
                }
                for (lang, t) in translations {
                    if crate::identity::normalize_language(lang).ok().as_deref() != Some(lang) {
                        return Err(bad(
                            &format!("{at}.translations"),
                            crate::Message::new(Code::LanguageTag)
                                .with("lang", format!("{:?}", lang)),
                        ));
                    }
                    text(t, &format!("translations.{lang}"))?;
                    crate::template::check(t)
                        .map_err(|e| bad(&format!("{at}.translations.{lang}"), e.message()))?;
                }
                text(body, "body")?;
                crate::template::check(body)
                    .map(|_| ())
                    .map_err(|e| bad(&format!("{at}.body"), e.message()))
            }
            Action::AddNote { body } => {
                text(body, "body")?;
                crate::template::check(body)
                    .map(|_| ())
                    .map_err(|e| bad(&format!("{at}.body"), e.message()))
            }
            Action::Notify {
                text: t,
                user_ids,
                team_id,
                ..
            } => {
                if user_ids.is_empty() && team_id.is_none() {
                    return Err(bad(at, Code::RuleNotifyWhom));
                }
                if user_ids.len() > MAX_NOTIFY {
                    return Err(bad(
                        at,
                        crate::Message::new(Code::AtMostAgents).with("max_notify", MAX_NOTIFY),
                    ));
                }
                text(t, "text")?;
                crate::template::check(t)
                    .map(|_| ())
                    .map_err(|e| bad(&format!("{at}.text"), e.message()))
            }
            Action::Escalate { reason, .. } => text(reason, "reason"),
            Action::Webhook { url } => {
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.chars().count() > 2000
                {
                    return Err(bad(at, Code::RuleWebhookUrl));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Action {
    /// A reply's text for a customer speaking `language`: its translation
    /// (exact, then the primary language), else the body.
    pub fn reply_text<'a>(
        body: &'a str,
        translations: &'a BTreeMap<String, String>,
        language: Option<&str>,
    ) -> &'a str {
        let Some(l) = language.map(str::to_lowercase) else {
            return body;
        };
        let primary = l.split('-').next().unwrap_or_default().to_owned();
        translations
            .get(&l)
            .or_else(|| translations.get(&primary))
            .map_or(body, String::as_str)
    }
}

impl RuleSpec {
    /// The rule checked; the error names the first part that cannot run.
    pub fn validated(mut self) -> Result<CompiledRule, DomainError> {
        // Each event once, in one order, however given.
        self.on.sort_by_key(|o| On::ALL.iter().position(|x| x == o));
        self.on.dedup();
        match self.kind {
            RuleKind::Trigger if self.on.is_empty() => {
                return Err(bad("on", Code::TriggerNeedsEvent));
            }
            RuleKind::Automation if !self.on.is_empty() => {
                return Err(bad("on", Code::AutomationNoEvents));
            }
            RuleKind::Automation
                if !self.all.iter().any(|c| {
                    matches!(
                        c.field,
                        Field::HoursSinceCreated
                            | Field::HoursSinceUpdated
                            | Field::HoursSinceCustomer
                    ) && c.op == Op::Gt
                }) =>
            {
                return Err(bad("all", Code::AutomationNeedsTime));
            }
            _ => {}
        }
        if self.all.len() > MAX_CONDITIONS || self.any.len() > MAX_CONDITIONS {
            return Err(bad(
                "all",
                crate::Message::new(Code::AtMostConditions).with("max_conditions", MAX_CONDITIONS),
            ));
        }
        if self.actions.is_empty() || self.actions.len() > MAX_ACTIONS {
            return Err(bad(
                "actions",
                crate::Message::new(Code::RuleActions).with("max_actions", MAX_ACTIONS),
            ));
        }
        let compile =
            |list: &[Condition], name: &str| -> Result<Vec<(Condition, Want)>, DomainError> {
                list.iter()
                    .enumerate()
                    .map(|(i, c)| Ok((c.clone(), c.want(&format!("{name}[{i}]"))?)))
                    .collect()
            };
        let all = compile(&self.all, "all")?;
        let any = compile(&self.any, "any")?;
        for (i, a) in self.actions.iter().enumerate() {
            a.check(&format!("actions[{i}]"))?;
        }
        Ok(CompiledRule {
            spec: self,
            all,
            any,
        })
    }
}

/// A rule ready to evaluate.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub spec: RuleSpec,
    all: Vec<(Condition, Want)>,
    any: Vec<(Condition, Want)>,
}

/// What is known of a ticket when a rule is evaluated. Texts are lower case.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub team: Option<String>,
    pub assignee: Option<String>,
    pub tier: i64,
    pub tags: Vec<String>,
    pub customer_tags: Vec<String>,
    /// The status the firing event moved the ticket to.
    pub status_changed_to: Option<String>,
    pub category: Option<String>,
    pub subject: String,
    /// The message that fired a trigger, lower case.
    pub message: Option<String>,
    pub author: Option<String>,
    pub language: Option<String>,
    pub hours_since_created: i64,
    pub hours_since_updated: i64,
    pub hours_since_customer: Option<i64>,
    /// Calendars open now (ids as text).
    pub open_calendars: Vec<String>,
    /// What triage read in the message (None until it has).
    pub triage: Option<TriageFacts>,
}

/// What triage read in a message, as conditions compare it.
#[derive(Clone, Debug, Default)]
pub struct TriageFacts {
    /// The category's key, when triage was sure enough to name one.
    pub category: Option<String>,
    /// How sure of it, in percent (0 with no category).
    pub confidence: i64,
    /// `urgent` or `normal`.
    pub urgency: String,
    /// `negative`, `neutral` or `positive`.
    pub sentiment: String,
    /// The language the message is written in, when it could tell.
    pub language: Option<String>,
}

fn holds(c: &Condition, want: &Want, f: &Facts) -> bool {
    use Field::*;
    let one = |v: Option<&str>| -> bool {
        match (c.op, want) {
            (Op::IsSet, _) => v.is_some(),
            (Op::NotSet, _) => v.is_none(),
            (Op::Is | Op::In, Want::Texts(w)) => v.is_some_and(|v| w.iter().any(|x| x == v)),
            (Op::IsNot | Op::NotIn, Want::Texts(w)) => !v.is_some_and(|v| w.iter().any(|x| x == v)),
            _ => false,
        }
    };
    let num = |n: Option<i64>| -> bool {
        let (Want::Number(w), Some(n)) = (want, n) else {
            return false;
        };
        match c.op {
            Op::Is => n == *w,
            Op::IsNot => n != *w,
            Op::Gt => n > *w,
            Op::Lt => n < *w,
            _ => false,
        }
    };
    let text = |t: Option<&str>| -> bool {
        let Some(t) = t else {
            return c.op == Op::NotContains;
        };
        match (c.op, want) {
            (Op::Contains, Want::Texts(w)) => w.iter().any(|x| t.contains(x.as_str())),
            (Op::NotContains, Want::Texts(w)) => !w.iter().any(|x| t.contains(x.as_str())),
            (Op::Matches, Want::Pattern(p)) => p.is_match(t),
            _ => false,
        }
    };
    // `ru` also covers `ru-ru`.
    let language = |l: Option<&str>| -> bool {
        let Want::Texts(w) = want else { return false };
        let hit = l.is_some_and(|l| {
            let primary = l.split('-').next().unwrap_or(l);
            w.iter().any(|x| x == l || x == primary)
        });
        match c.op {
            Op::Is | Op::In => hit,
            Op::IsNot | Op::NotIn => !hit,
            _ => false,
        }
    };
    let triage = f.triage.as_ref();
    match c.field {
        Status => one(Some(&f.status)),
        Priority => one(Some(&f.priority)),
        Channel => one(Some(&f.channel)),
        Team => one(f.team.as_deref()),
        Assignee => one(f.assignee.as_deref()),
        Category => one(f.category.as_deref()),
        Author => one(f.author.as_deref()),
        StatusChangedTo => one(f.status_changed_to.as_deref()),
        Language => language(f.language.as_deref()),
        MessageLanguage => language(triage.and_then(|t| t.language.as_deref())),
        TriageCategory => one(triage.and_then(|t| t.category.as_deref())),
        TriageConfidence => num(triage.map(|t| t.confidence)),
        Urgency => one(triage.map(|t| t.urgency.as_str())),
        Sentiment => one(triage.map(|t| t.sentiment.as_str())),
        Tier => num(Some(f.tier)),
        HoursSinceCreated => num(Some(f.hours_since_created)),
        HoursSinceUpdated => num(Some(f.hours_since_updated)),
        HoursSinceCustomer => num(f.hours_since_customer),
        Tags | CustomerTags => {
            let Want::Texts(w) = want else { return false };
            let tags = if c.field == Tags {
                &f.tags
            } else {
                &f.customer_tags
            };
            let hit = w.iter().any(|x| tags.contains(x));
            if c.op == Op::Contains { hit } else { !hit }
        }
        Subject => text(Some(&f.subject)),
        Message => text(f.message.as_deref()),
        OpenHours => {
            let Want::Texts(w) = want else { return false };
            let open = w.iter().any(|x| f.open_calendars.contains(x));
            if c.op == Op::Is { open } else { !open }
        }
    }
}

impl CompiledRule {
    /// Whether the rule's conditions hold for `f`.
    pub fn matches(&self, f: &Facts) -> bool {
        self.all.iter().all(|(c, w)| holds(c, w, f))
            && (self.any.is_empty() || self.any.iter().any(|(c, w)| holds(c, w, f)))
    }

    /// Whether the trigger listens to `on`.
    pub fn listens(&self, on: On) -> bool {
        self.spec.kind == RuleKind::Trigger && self.spec.on.contains(&on)
    }

    /// The calendars its conditions ask about.
    pub fn calendars(&self) -> Vec<CalendarId> {
        self.all
            .iter()
            .chain(&self.any)
            .filter_map(|(c, w)| match (c.field, w) {
                (Field::OpenHours, Want::Texts(t)) => {
                    Some(t.iter().filter_map(|x| x.parse().ok()).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Result<CompiledRule, DomainError> {
        serde_json::from_value::<RuleSpec>(v)
            .map_err(|e| {
                DomainError::invalid(
                    "rule",
                    crate::Message::new(crate::Code::BadJson).with("reason", e),
                )
            })?
            .validated()
    }

    fn facts() -> Facts {
        Facts {
            status: "new".into(),
            priority: "normal".into(),
            channel: "email".into(),
            tier: 1,
            tags: vec!["vip".into()],
            subject: "хочу вернуть колонку".into(),
            message: Some("верните деньги за заказ 5531, пожалуйста".into()),
            author: Some("customer".into()),
            language: Some("ru-ru".into()),
            hours_since_created: 5,
            hours_since_updated: 2,
            ..Facts::default()
        }
    }

    #[test]
    fn a_rule_matches_on_all_its_conditions_and_one_of_any() {
        let r = rule(json!({
            "kind": "trigger", "on": ["ticket.created"],
            "all": [{"field": "status", "op": "in", "value": ["new", "open"]},
                    {"field": "language", "op": "is", "value": "ru"},
                    {"field": "assignee", "op": "not_set"}],
            "any": [{"field": "message", "op": "contains", "value": "Верните"},
                    {"field": "subject", "op": "matches", "value": "возврат|вернуть"}],
            "actions": [{"type": "set_team", "team_id": null}, {"type": "add_tags", "tags": ["returns"]}]
        }))
        .unwrap();
        assert!(r.listens(On::TicketCreated) && !r.listens(On::TicketUpdated));
        assert!(r.matches(&facts()));
        let mut f = facts();
        f.message = Some("где мой заказ".into());
        assert!(r.matches(&f), "the subject still matches one of `any`");
        f.subject = "доставка".into();
        assert!(!r.matches(&f), "none of `any` holds");
        let mut f = facts();
        f.assignee = Some(UserId::new().to_string());
        assert!(!r.matches(&f));
        let mut f = facts();
        f.language = Some("en".into());
        assert!(!r.matches(&f));
    }

    #[test]
    fn numbers_tags_and_missing_values() {
        let r = rule(json!({
            "kind": "automation",
            "all": [{"field": "hours_since_updated", "op": "gt", "value": 1.0},
                    {"field": "tags", "op": "not_contains", "value": "spam"},
                    {"field": "message", "op": "not_contains", "value": "спасибо"}],
            "actions": [{"type": "set_status", "status": "solved"}]
        }))
        .unwrap();
        let mut f = facts();
        assert!(r.matches(&f));
        f.message = None;
        assert!(r.matches(&f), "no message contains nothing");
        f.hours_since_updated = 1;
        assert!(!r.matches(&f));
    }

    #[test]
    fn triage_conditions_read_what_triage_found_and_nothing_before() {
        let r = rule(json!({
            "kind": "trigger", "on": ["message.triaged"],
            "all": [{"field": "triage_category", "op": "in", "value": [" Returns ", "refund"]},
                    {"field": "triage_confidence", "op": "gt", "value": 60},
                    {"field": "message_language", "op": "is", "value": "ru"}],
            "any": [{"field": "urgency", "op": "is", "value": "urgent"},
                    {"field": "sentiment", "op": "is", "value": "negative"}],
            "actions": [{"type": "set_priority", "priority": "high"}]
        }))
        .unwrap();
        assert!(r.listens(On::MessageTriaged) && !r.listens(On::CustomerWrote));
        let mut f = facts();
        assert!(
            !r.matches(&f),
            "nothing holds before triage has read the message"
        );
        f.triage = Some(TriageFacts {
            category: Some("returns".into()),
            confidence: 83,
            urgency: "normal".into(),
            sentiment: "negative".into(),
            language: Some("ru".into()),
        });
        assert!(r.matches(&f));
        let t = f.triage.as_mut().unwrap();
        t.sentiment = "neutral".into();
        assert!(!r.matches(&f), "neither urgent nor angry");
        let t = f.triage.as_mut().unwrap();
        t.urgency = "urgent".into();
        t.confidence = 60;
        assert!(!r.matches(&f), "60 is not more than 60");
        let t = f.triage.as_mut().unwrap();
        t.confidence = 61;
        t.language = Some("th".into());
        assert!(!r.matches(&f));
        let unset = rule(json!({"kind": "trigger", "on": ["message.triaged"],
            "all": [{"field": "triage_category", "op": "not_set"}],
            "actions": [{"type": "add_tags", "tags": ["unsorted"]}]}))
        .unwrap();
        let mut f = facts();
        f.triage = Some(TriageFacts::default());
        assert!(unset.matches(&f));
        for bad in [
            json!({"field": "triage_confidence", "op": "gt", "value": 101}),
            json!({"field": "triage_confidence", "op": "is", "value": 50}),
            json!({"field": "urgency", "op": "is", "value": "high"}),
            json!({"field": "urgency", "op": "in", "value": ["urgent"]}),
            json!({"field": "sentiment", "op": "is", "value": "angry"}),
            json!({"field": "triage_category", "op": "is", "value": "two words"}),
            json!({"field": "message_language", "op": "is", "value": "русский"}),
        ] {
            let r = rule(
                json!({"kind": "trigger", "on": ["message.triaged"], "all": [bad],
                "actions": [{"type": "set_tier", "tier": 2}]}),
            );
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_of_the_grammar_compile_and_others_are_refused() {
        let cond = |p: &str| {
            rule(json!({"kind": "trigger", "on": ["customer.wrote"],
                "all": [{"field": "message", "op": "matches", "value": p}],
                "actions": [{"type": "set_tier", "tier": 2}]}))
        };
        for ok in [
            "возврат|вернуть",
            "^order #?5+$",
            r"5\.0",
            "a.*b",
            "colou?r",
            r"\(x\)",
            "$^",
            r"\\",
        ] {
            assert!(cond(ok).is_ok(), "{ok}");
        }
        for no in [
            "(a)",
            "[ab]",
            "a{2}",
            "a**",
            r"\w+",
            "",
            "|a",
            "a|",
            "^*",
            r"\",
            &".".repeat(201),
        ] {
            assert!(cond(no).is_err(), "{no}");
        }
        // The longest patterns of the grammar's costliest pieces still compile.
        for worst in [
            ".".repeat(200),
            ".*".repeat(100),
            "ж+".repeat(100),
            "k?".repeat(100),
        ] {
            assert!(cond(&worst).is_ok(), "{worst}");
        }
    }

    #[test]
    fn a_reply_speaks_the_customers_language_when_it_can() {
        let r = rule(json!({
            "kind": "trigger", "on": ["ticket.created"],
            "actions": [{"type": "reply", "body": "Thanks, {{customer.first_name}}",
                         "translations": {"ru": "Спасибо, {{customer.first_name}}", "pt-br": "Obrigado"}}]
        }))
        .unwrap();
        let Action::Reply { body, translations } = &r.spec.actions[0] else {
            panic!("a reply")
        };
        assert_eq!(
            Action::reply_text(body, translations, Some("ru-RU")),
            "Спасибо, {{customer.first_name}}"
        );
        assert_eq!(
            Action::reply_text(body, translations, Some("pt-BR")),
            "Obrigado"
        );
        assert_eq!(Action::reply_text(body, translations, Some("th")), body);
        assert_eq!(Action::reply_text(body, translations, None), body);
        for bad_one in [
            json!({"RU": "x"}),
            json!({"ru": "{{customer.nmae}}"}),
            json!({"ru": " "}),
        ] {
            let v = json!({"kind": "trigger", "on": ["ticket.created"],
                "actions": [{"type": "reply", "body": "Thanks", "translations": bad_one}]});
            assert!(rule(v.clone()).is_err(), "{v}");
        }
    }

    #[test]
    fn what_cannot_run_is_refused_by_name() {
        let cases = [
            (
                json!({"kind": "trigger", "actions": [{"type": "set_tier", "tier": 2}]}),
                "on",
            ),
            (
                json!({"kind": "automation", "all": [{"field": "status", "op": "is", "value": "pending"}],
                    "actions": [{"type": "set_status", "status": "solved"}]}),
                "all",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "all": [{"field": "status", "op": "contains", "value": "new"}],
                    "actions": [{"type": "set_tier", "tier": 2}]}),
                "all[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "all": [{"field": "status", "op": "is", "value": "asleep"}],
                    "actions": [{"type": "set_tier", "tier": 2}]}),
                "all[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "any": [{"field": "message", "op": "matches", "value": "(unclosed"}],
                    "actions": [{"type": "set_tier", "tier": 2}]}),
                "any[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "any": [{"field": "message", "op": "matches", "value": "a{1000}"}],
                    "actions": [{"type": "set_tier", "tier": 2}]}),
                "any[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "actions": [{"type": "set_tier", "tier": 5}]}),
                "actions[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "actions": [{"type": "notify", "text": "hi"}]}),
                "actions[0]",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "actions": []}),
                "actions",
            ),
            (
                json!({"kind": "trigger", "on": ["ticket.created"], "actions": [{"type": "webhook", "url": "ftp://x"}]}),
                "actions[0]",
            ),
        ];
        for (v, field) in cases {
            match rule(v.clone()) {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field, "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
        assert!(
            serde_json::from_value::<RuleSpec>(json!({"kind": "trigger", "on": ["ticket.created"],
                "actions": [{"type": "launch_rocket"}]}))
            .is_err(),
            "unknown actions are refused"
        );
    }
}
