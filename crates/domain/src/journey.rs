//! The customer journey (seed 003): every contact a customer has with the
//! brand is a touchpoint, placed in one of five stages by the workspace's
//! rules, and given an emotion where something tells one — the message's
//! sentiment, a survey's score, a re-open, a missed target.
//!
//! Emotions are whole numbers from −100 (angry, let down) to 100 (delighted);
//! a touchpoint nothing speaks for has none, and averages leave it out.

use crate::error::DomainError;
use crate::event::EventData;
use crate::ids::{CustomerId, TicketId};
use crate::message::{Code, Message};
use crate::order::{OrderStatus, ShipmentStatus};
use crate::ticket::{AuthorKind, Channel, Visibility};
use crate::wire_enum;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

wire_enum!(
    /// Where in the journey a touchpoint falls (seed 003's stages).
    Stage {
        Awareness = "awareness",
        Consideration = "consideration",
        Decision = "decision",
        PostPurchase = "post_purchase",
        Service = "service",
    }
);

impl Stage {
    /// The stage's column on the map, left to right.
    pub fn index(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

wire_enum!(
    /// What kind of contact a touchpoint is. The first twelve the system
    /// sees itself; the last five a shop pushes (`POST /api/v1/touchpoints`).
    Kind {
        Message = "message",
        Call = "call",
        Bot = "bot",
        ArticleView = "article_view",
        Search = "search",
        Order = "order",
        Shipment = "shipment",
        Survey = "survey",
        Outreach = "outreach",
        LinkClick = "link_click",
        Reopen = "reopen",
        SlaBreach = "sla_breach",
        PageView = "page_view",
        Cart = "cart",
        Checkout = "checkout",
        Review = "review",
        Custom = "custom",
    }
);

impl Kind {
    /// The kinds a shop may push; the others only the system records.
    pub const PUSHED: &'static [Kind] = &[
        Kind::PageView,
        Kind::Cart,
        Kind::Checkout,
        Kind::Review,
        Kind::Custom,
    ];

    pub fn pushed(self) -> bool {
        Kind::PUSHED.contains(&self)
    }

    /// The stage a kind falls in when no rule of the workspace says otherwise.
    pub fn default_stage(self) -> Stage {
        match self {
            Kind::PageView | Kind::Custom => Stage::Awareness,
            Kind::ArticleView | Kind::Search | Kind::LinkClick => Stage::Consideration,
            Kind::Cart | Kind::Checkout | Kind::Order => Stage::Decision,
            Kind::Shipment | Kind::Review | Kind::Outreach => Stage::PostPurchase,
            Kind::Message
            | Kind::Call
            | Kind::Bot
            | Kind::Survey
            | Kind::Reopen
            | Kind::SlaBreach => Stage::Service,
        }
    }
}

/// Longest list of stage rules a workspace keeps.
pub const MAX_RULES: usize = 50;
/// Longest attribute name or value a rule or a touchpoint carries, in characters.
pub const MAX_ATTRIBUTE_CHARS: usize = 200;
/// Most attributes on one touchpoint.
pub const MAX_ATTRIBUTES: usize = 20;

/// One of a workspace's stage rules: a touchpoint matching every condition
/// given is placed in `stage`. The first rule that matches wins; a
/// touchpoint no rule matches takes its kind's default stage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// The channel (`email`, `chat`, `telegram` …) for messages and calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// An attribute that must have `value` (a pushed page's `page_type`:
    /// `pricing`, a campaign link's `campaign`: `spring-sale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub stage: Stage,
}

/// What a stage rule is matched against.
#[derive(Clone, Copy, Debug)]
pub struct Touch<'a> {
    pub kind: Kind,
    pub channel: Option<&'a str>,
    pub attributes: &'a BTreeMap<String, String>,
}

impl StageRule {
    pub fn matches(&self, t: &Touch<'_>) -> bool {
        self.kind.is_none_or(|k| k == t.kind)
            && self.channel.as_deref().is_none_or(|c| t.channel == Some(c))
            && match (&self.attribute, &self.value) {
                (Some(a), Some(v)) => t.attributes.get(a) == Some(v),
                (Some(a), None) => t.attributes.contains_key(a),
                _ => true,
            }
    }
}

/// The rules every workspace starts with: the kinds' defaults, with a shop's
/// product and pricing pages in consideration, a campaign's link in
/// awareness and an order once it is on its way in post-purchase (seed 003:
/// awareness is where customers first meet the brand, consideration where
/// they compare, decision where they buy).
pub fn default_rules() -> Vec<StageRule> {
    let page = |value: &str, stage| StageRule {
        kind: Some(Kind::PageView),
        channel: None,
        attribute: Some("page_type".into()),
        value: Some(value.into()),
        stage,
    };
    vec![
        page("product", Stage::Consideration),
        page("pricing", Stage::Consideration),
        page("comparison", Stage::Consideration),
        StageRule {
            kind: Some(Kind::LinkClick),
            channel: None,
            attribute: Some("campaign".into()),
            value: None,
            stage: Stage::Awareness,
        },
    ]
    .into_iter()
    .chain(
        ["shipped", "delivered", "returned"].map(|status| StageRule {
            kind: Some(Kind::Order),
            channel: None,
            attribute: Some("status".into()),
            value: Some(status.into()),
            stage: Stage::PostPurchase,
        }),
    )
    .collect()
}

/// A workspace's journey settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Whether identified visitors' activity on the web is recorded — a
    /// shop's pushed page views, cart and checkout, help-center reading,
    /// link clicks. Off until an admin turns it on; conversations, orders and
    /// surveys are on the journey either way.
    pub tracking: bool,
    /// Stage rules, the first match winning.
    pub rules: Vec<StageRule>,
    /// Where the workspace's tracked links may lead: address prefixes such
    /// as `https://shop.example/`, at most [`crate::links::MAX_TARGETS`].
    pub link_targets: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tracking: false,
            rules: default_rules(),
            link_targets: Vec::new(),
        }
    }
}

impl Settings {
    pub fn stage_of(&self, t: &Touch<'_>) -> Stage {
        stage_of(&self.rules, t)
    }
}

/// The stage of a touchpoint under `rules`.
pub fn stage_of(rules: &[StageRule], t: &Touch<'_>) -> Stage {
    rules
        .iter()
        .find(|r| r.matches(t))
        .map_or(t.kind.default_stage(), |r| r.stage)
}

/// Checks a list of rules before it is kept: bounded, no empty names, a
/// value only with its attribute.
pub fn check_rules(rules: &[StageRule]) -> Result<(), DomainError> {
    let bad = |message: Message| Err(DomainError::invalid("rules", message));
    if rules.len() > MAX_RULES {
        return bad(Message::new(Code::AtMost).with("max", MAX_RULES));
    }
    for r in rules {
        for s in [&r.channel, &r.attribute, &r.value].into_iter().flatten() {
            if s.trim().is_empty() {
                return bad(Message::new(Code::NotEmpty));
            }
            if s.chars().count() > MAX_ATTRIBUTE_CHARS {
                return bad(Message::new(Code::MaxChars).with("max", MAX_ATTRIBUTE_CHARS));
            }
        }
        if r.value.is_some() && r.attribute.is_none() {
            return bad(Message::new(Code::JourneyValueWithoutAttribute));
        }
    }
    Ok(())
}

/// The emotion a triaged message shows: its sentiment, made stronger when
/// the customer is also in a hurry and unhappy.
pub fn from_sentiment(sentiment: &str, urgent: bool) -> Option<i64> {
    let base = match sentiment {
        "negative" => -60,
        "positive" => 60,
        "neutral" => 0,
        _ => return None,
    };
    Some(if base < 0 && urgent { -80 } else { base })
}

/// A CSAT answer (1–5): 1 → −100, 3 → 0, 5 → 100.
pub fn from_csat(score: i64) -> i64 {
    ((score.clamp(1, 5) - 3) * 50).clamp(-100, 100)
}

/// An NPS answer (0–10): 0 → −100, 5 → 0, 10 → 100.
pub fn from_nps(score: i64) -> i64 {
    (score.clamp(0, 10) - 5) * 20
}

/// A ticket opened again: the answer did not solve it.
pub const REOPEN: i64 = -50;
/// A response or resolution target missed: the customer waited too long.
pub const SLA_BREACH: i64 = -70;
/// The bot's answer helped / did not.
pub const BOT_HELPED: i64 = 40;
pub const BOT_DID_NOT_HELP: i64 = -40;

/// A shipment that went wrong (held by customs, lost, sent back).
pub const SHIPMENT_TROUBLE: i64 = -40;
/// An order sent back or cancelled.
pub const ORDER_UNDONE: i64 = -30;

/// A touchpoint an event of the log makes. `source` names it uniquely in
/// its workspace, so reading the event again adds nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Touchpoint {
    pub source: String,
    pub kind: Kind,
    pub channel: Option<Channel>,
    pub ticket: Option<TicketId>,
    /// Whose it is when the event says (orders, surveys, outreach); for
    /// ticket events the ticket's customer.
    pub customer: Option<CustomerId>,
    /// What it is about: an order's number, an article, a survey's kind.
    pub reference: Option<String>,
    pub emotion: Option<i64>,
    pub attributes: BTreeMap<String, String>,
}

/// What an event does to the journey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A touchpoint is added (a repeat of its source is nothing).
    Touch(Touchpoint),
    /// A touchpoint learns how the customer felt (a triaged message, the
    /// bot's answer rated, a survey answered again).
    Feel { source: String, emotion: i64 },
}

/// The touchpoint's source for a message.
pub fn message_source(m: impl std::fmt::Display) -> String {
    format!("message:{m}")
}

/// What the event of log number `id` does to the journey (nothing for most).
pub fn effects(id: i64, data: &EventData) -> Vec<Effect> {
    let touch = |source: String, kind: Kind| Touchpoint {
        source,
        kind,
        channel: None,
        ticket: None,
        customer: None,
        reference: None,
        emotion: None,
        attributes: BTreeMap::new(),
    };
    let attr =
        |k: &str, v: &str| -> BTreeMap<String, String> { [(k.to_owned(), v.to_owned())].into() };
    let one = |t: Touchpoint| vec![Effect::Touch(t)];
    match data {
        EventData::MessageAdded {
            ticket_id,
            message_id,
            visibility: Visibility::Public,
            author_kind,
            channel,
            ..
        } if *author_kind != AuthorKind::System => {
            let kind = if *channel == Channel::Phone {
                Kind::Call
            } else {
                Kind::Message
            };
            one(Touchpoint {
                channel: Some(*channel),
                ticket: Some(*ticket_id),
                attributes: attr("from", author_kind.as_str()),
                ..touch(message_source(message_id), kind)
            })
        }
        EventData::MessageTriaged {
            message_id,
            sentiment,
            urgent,
            ..
        } => from_sentiment(sentiment, *urgent)
            .map(|emotion| Effect::Feel {
                source: message_source(message_id),
                emotion,
            })
            .into_iter()
            .collect(),
        EventData::BotAnswered {
            ticket_id,
            article_id,
            faq_id,
            ..
        } => one(Touchpoint {
            ticket: Some(*ticket_id),
            reference: article_id
                .map(|a| format!("article:{a}"))
                .or(faq_id.map(|f| format!("faq:{f}"))),
            attributes: attr("outcome", "answered"),
            ..touch(format!("bot:{ticket_id}"), Kind::Bot)
        }),
        EventData::BotHandedOff { ticket_id, .. } => one(Touchpoint {
            ticket: Some(*ticket_id),
            attributes: attr("outcome", "handed_off"),
            ..touch(format!("bot:{ticket_id}"), Kind::Bot)
        }),
        EventData::BotFeedback { ticket_id, helpful } => vec![Effect::Feel {
            source: format!("bot:{ticket_id}"),
            emotion: if *helpful {
                BOT_HELPED
            } else {
                BOT_DID_NOT_HELP
            },
        }],
        EventData::OrderCreated {
            order_id,
            customer_id,
            number,
            status,
        } => one(Touchpoint {
            customer: Some(*customer_id),
            reference: Some(number.clone()),
            attributes: attr("status", status.as_str()),
            ..touch(format!("order:{order_id}"), Kind::Order)
        }),
        EventData::OrderStatusChanged {
            order_id,
            customer_id,
            number,
            to,
            ..
        } => one(Touchpoint {
            customer: Some(*customer_id),
            reference: Some(number.clone()),
            emotion: matches!(to, OrderStatus::Returned | OrderStatus::Cancelled)
                .then_some(ORDER_UNDONE),
            attributes: attr("status", to.as_str()),
            ..touch(format!("order:{order_id}:{to}"), Kind::Order)
        }),
        EventData::ShipmentUpdated {
            order_id,
            customer_id,
            number,
            tracking_number,
            to,
            ..
        } => one(Touchpoint {
            customer: Some(*customer_id),
            reference: Some(number.clone()),
            emotion: matches!(
                to,
                ShipmentStatus::Delayed | ShipmentStatus::Exception | ShipmentStatus::Returned
            )
            .then_some(SHIPMENT_TROUBLE),
            attributes: attr("status", to.as_str()),
            ..touch(
                format!("shipment:{order_id}:{tracking_number}:{to}"),
                Kind::Shipment,
            )
        }),
        EventData::SurveyAnswered {
            survey_id,
            ticket_id,
            customer_id,
            survey_kind,
            score,
            ..
        } => {
            let emotion = if survey_kind == "nps" {
                from_nps(*score)
            } else {
                from_csat(*score)
            };
            let source = format!("survey:{survey_id}");
            vec![
                Effect::Touch(Touchpoint {
                    customer: Some(*customer_id),
                    ticket: *ticket_id,
                    reference: Some(survey_kind.clone()),
                    emotion: Some(emotion),
                    attributes: attr("score", &score.to_string()),
                    ..touch(source.clone(), Kind::Survey)
                }),
                // A second answer replaces the first.
                Effect::Feel { source, emotion },
            ]
        }
        EventData::OutreachSent {
            customer_id,
            outreach_id,
            ticket_id,
            channel,
            ..
        } => one(Touchpoint {
            customer: Some(*customer_id),
            ticket: Some(*ticket_id),
            channel: Some(*channel),
            ..touch(format!("outreach:{outreach_id}"), Kind::Outreach)
        }),
        EventData::TicketUpdated { ticket_id, changes } => {
            let reopened = changes.iter().any(|c| {
                c.field == "status"
                    && matches!(c.from.as_str(), Some("solved" | "closed"))
                    && matches!(c.to.as_str(), Some("open" | "new" | "pending"))
            });
            if reopened {
                one(Touchpoint {
                    ticket: Some(*ticket_id),
                    emotion: Some(REOPEN),
                    ..touch(format!("event:{id}"), Kind::Reopen)
                })
            } else {
                Vec::new()
            }
        }
        EventData::SlaBreached {
            ticket_id,
            metric,
            cycle,
            ..
        } => one(Touchpoint {
            ticket: Some(*ticket_id),
            emotion: Some(SLA_BREACH),
            attributes: attr("metric", metric.as_str()),
            ..touch(format!("sla:{ticket_id}:{metric}:{cycle}"), Kind::SlaBreach)
        }),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(kind: Kind, channel: Option<&'static str>, attrs: &[(&str, &str)]) -> Stage {
        let attributes: BTreeMap<String, String> = attrs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        stage_of(
            &default_rules(),
            &Touch {
                kind,
                channel,
                attributes: &attributes,
            },
        )
    }

    #[test]
    fn the_default_rules_place_a_shop_journey_in_seed_003s_stages() {
        assert_eq!(touch(Kind::PageView, None, &[]), Stage::Awareness);
        assert_eq!(
            touch(Kind::PageView, None, &[("page_type", "pricing")]),
            Stage::Consideration
        );
        assert_eq!(
            touch(Kind::PageView, None, &[("page_type", "blog")]),
            Stage::Awareness
        );
        assert_eq!(touch(Kind::Search, None, &[]), Stage::Consideration);
        assert_eq!(
            touch(Kind::LinkClick, None, &[("campaign", "spring")]),
            Stage::Awareness
        );
        assert_eq!(touch(Kind::LinkClick, None, &[]), Stage::Consideration);
        assert_eq!(touch(Kind::Checkout, None, &[]), Stage::Decision);
        assert_eq!(
            touch(Kind::Order, None, &[("status", "placed")]),
            Stage::Decision
        );
        assert_eq!(
            touch(Kind::Order, None, &[("status", "delivered")]),
            Stage::PostPurchase
        );
        assert_eq!(touch(Kind::Shipment, None, &[]), Stage::PostPurchase);
        assert_eq!(touch(Kind::Message, Some("chat"), &[]), Stage::Service);
        assert_eq!(touch(Kind::SlaBreach, None, &[]), Stage::Service);
    }

    #[test]
    fn the_first_matching_rule_wins_and_every_condition_must_hold() {
        let rules = vec![
            StageRule {
                kind: Some(Kind::Message),
                channel: Some("telegram".into()),
                attribute: None,
                value: None,
                stage: Stage::Consideration,
            },
            StageRule {
                kind: None,
                channel: None,
                attribute: Some("campaign".into()),
                value: None,
                stage: Stage::Awareness,
            },
            StageRule {
                kind: Some(Kind::Message),
                channel: None,
                attribute: None,
                value: None,
                stage: Stage::PostPurchase,
            },
        ];
        let none = BTreeMap::new();
        let campaign: BTreeMap<String, String> = [("campaign".to_string(), "x".to_string())].into();
        let at = |kind, channel, attributes| {
            stage_of(
                &rules,
                &Touch {
                    kind,
                    channel,
                    attributes,
                },
            )
        };
        assert_eq!(
            at(Kind::Message, Some("telegram"), &none),
            Stage::Consideration
        );
        assert_eq!(
            at(Kind::Message, Some("email"), &campaign),
            Stage::Awareness
        );
        assert_eq!(at(Kind::Message, Some("email"), &none), Stage::PostPurchase);
        assert_eq!(
            at(Kind::Call, None, &none),
            Stage::Service,
            "the kind's default"
        );
        check_rules(&rules).expect("good rules");
        let mut bad = rules.clone();
        bad[0].attribute = None;
        bad[0].value = Some("x".into());
        assert!(check_rules(&bad).is_err(), "a value without its attribute");
        bad[0].value = None;
        bad[0].channel = Some("  ".into());
        assert!(check_rules(&bad).is_err(), "an empty channel");
        assert!(check_rules(&vec![rules[0].clone(); MAX_RULES + 1]).is_err());
    }

    #[test]
    fn emotions_run_from_minus_to_plus_a_hundred() {
        assert_eq!((from_csat(1), from_csat(3), from_csat(5)), (-100, 0, 100));
        assert_eq!((from_nps(0), from_nps(5), from_nps(10)), (-100, 0, 100));
        assert_eq!(from_csat(9), 100, "out of range is clamped");
        assert_eq!(from_sentiment("negative", true), Some(-80));
        assert_eq!(from_sentiment("negative", false), Some(-60));
        assert_eq!(from_sentiment("positive", true), Some(60));
        assert_eq!(from_sentiment("unknown", true), None);
        assert_eq!(Stage::PostPurchase.index(), 3);
        assert!(Kind::Review.pushed() && !Kind::Order.pushed());
    }

    #[test]
    fn events_become_touchpoints_and_feelings() {
        use crate::event::Change;
        use crate::ids::{MessageId, SurveyId};
        let (t, m) = (TicketId::new(), MessageId::new());
        let said = |visibility, author_kind, channel| {
            effects(
                7,
                &EventData::MessageAdded {
                    ticket_id: t,
                    message_id: m,
                    visibility,
                    author_kind,
                    channel,
                    attachments: 0,
                },
            )
        };
        let [Effect::Touch(tp)] =
            &said(Visibility::Public, AuthorKind::Customer, Channel::Telegram)[..]
        else {
            panic!("one touchpoint")
        };
        assert_eq!(
            (tp.kind, tp.channel, tp.ticket),
            (Kind::Message, Some(Channel::Telegram), Some(t))
        );
        assert_eq!(tp.source, message_source(m));
        assert_eq!(
            tp.attributes.get("from").map(String::as_str),
            Some("customer")
        );
        let [Effect::Touch(call)] =
            &said(Visibility::Public, AuthorKind::Agent, Channel::Phone)[..]
        else {
            panic!("one touchpoint")
        };
        assert_eq!(call.kind, Kind::Call);
        assert!(said(Visibility::Internal, AuthorKind::Agent, Channel::Email).is_empty());
        assert_eq!(
            effects(
                8,
                &EventData::MessageTriaged {
                    ticket_id: t,
                    message_id: m,
                    lang: None,
                    category: None,
                    confidence: 0.9,
                    urgent: true,
                    sentiment: "negative".into(),
                }
            ),
            [Effect::Feel {
                source: message_source(m),
                emotion: -80
            }]
        );
        let status = |from: &str, to: &str| {
            effects(
                9,
                &EventData::TicketUpdated {
                    ticket_id: t,
                    changes: vec![Change {
                        field: "status".into(),
                        from: from.into(),
                        to: to.into(),
                    }],
                },
            )
        };
        let [Effect::Touch(reopen)] = &status("solved", "open")[..] else {
            panic!("a re-open")
        };
        assert_eq!(
            (reopen.kind, reopen.emotion, reopen.source.as_str()),
            (Kind::Reopen, Some(REOPEN), "event:9")
        );
        assert!(status("open", "solved").is_empty());
        assert!(status("new", "open").is_empty());
        let nps = effects(
            10,
            &EventData::SurveyAnswered {
                survey_id: SurveyId::new(),
                ticket_id: None,
                customer_id: CustomerId::new(),
                survey_kind: "nps".into(),
                score: 9,
                comment: String::new(),
                replaced: false,
                previous: None,
            },
        );
        let [Effect::Touch(answer), Effect::Feel { emotion, .. }] = &nps[..] else {
            panic!("a survey touchpoint and its feeling")
        };
        assert_eq!(
            (answer.kind, answer.emotion, *emotion),
            (Kind::Survey, Some(80), 80)
        );
        let breach = effects(
            11,
            &EventData::SlaBreached {
                ticket_id: t,
                policy_id: crate::ids::SlaPolicyId::new(),
                metric: crate::sla::Metric::FirstReply,
                cycle: 0,
                due_at: 0,
            },
        );
        let [Effect::Touch(b)] = &breach[..] else {
            panic!("a breach")
        };
        assert_eq!((b.kind, b.emotion), (Kind::SlaBreach, Some(SLA_BREACH)));
    }
}
