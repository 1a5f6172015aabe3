//! Guided flows: conversations the bot leads step by step, defined as data per
//! workspace — ask for an order number, look the order up, say its status;
//! collect what a return needs and open a ticket for the returns team. A flow
//! starts when the customer says something like one of its phrases (the bot's
//! model learns them beside the FAQ), and at every step the customer can ask
//! for a person.
//!
//! A flow is checked whole when it is saved ([`FlowSpec::validated`]): its
//! texts' placeholders are known, every `{{answer.x}}` names an answer asked
//! for before it, a lookup has the number it needs.

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::ids::{OrderId, TeamId};
use crate::message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most flows a workspace has, steps a flow has, phrases that start one.
pub const MAX_FLOWS: usize = 50;
pub const MAX_STEPS: usize = 20;
pub const MAX_PHRASES: usize = 100;
/// The longest text of a step (in any language) and of a phrase.
pub const MAX_TEXT: usize = 2_000;
pub const MAX_PHRASE: usize = 300;
/// The longest answer a customer's reply is kept as.
pub const MAX_ANSWER: usize = 500;
/// Replies that did not fit an `ask` before the bot hands off.
pub const MAX_TRIES: u32 = 3;

/// A text per language (`ru`, `en`, `th`, …); the customer's language is
/// used, else English, else the first.
pub type Texts = BTreeMap<String, String>;

/// What an `ask` step takes as an answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Any text.
    #[default]
    Text,
    /// An order number (3–40 letters, digits and dashes, at least 3 digits).
    OrderNumber,
    /// One of `choices` (by its text or its number in the list).
    Choice,
}

/// One step of a flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Asks, and keeps the reply as `{{answer.<var>}}`. With `skip_if_order`,
    /// a customer who has orders is not asked for a number: their latest
    /// order is the one.
    Ask {
        var: String,
        prompt: Texts,
        #[serde(default)]
        expect: Expect,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        choices: Vec<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        skip_if_order: bool,
    },
    /// Finds the customer's order numbered `{{answer.<var>}}` (or, without a
    /// var or an answer, their latest) among the orders the store pushed;
    /// none found: says `not_found` and asks the question again (then hands
    /// off), or hands off when nothing was asked.
    FindOrder {
        #[serde(default)]
        var: Option<String>,
        not_found: Texts,
    },
    /// Says a text (placeholders filled).
    Say { text: Texts },
    /// Files the conversation as a ticket for `team_id` (a return for the
    /// returns team): its subject, an internal note with the answers, tags.
    /// The steps after it still run; then people have the conversation —
    /// they reply in it, on the customer's channel.
    FileTicket {
        team_id: Option<TeamId>,
        subject: String,
        note: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
    },
    /// Gives the conversation to people (to `team_id` when named) after
    /// saying `text`.
    Handoff {
        #[serde(default)]
        team_id: Option<TeamId>,
        text: Texts,
    },
}

/// A flow as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowSpec {
    /// Short and unique in the workspace (lower case, as tags).
    pub key: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
    /// What customers say to start it.
    pub phrases: Vec<String>,
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

/// The placeholders a flow's texts may hold besides `answer.<var>`.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.first_name",
    "order.number",
    "order.status",
    "order.tracking_number",
    "order.tracking_url",
    "order.carrier",
    "ticket.number",
];

fn bad(at: &str, msg: impl Into<crate::Message>) -> DomainError {
    DomainError::invalid(at, msg)
}

/// A name answers are kept under: 1 to 32 of a-z, 0-9 and _.
pub fn is_var(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 32
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The placeholders in `text`, in order.
pub fn slots(text: &str, at: &str) -> Result<Vec<String>, DomainError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| bad(at, crate::template::unclosed()))?;
        out.push(after[..close].trim().to_owned());
        rest = &after[close + 2..];
    }
    Ok(out)
}

/// `text` with its placeholders filled by `value` (empty when it has none).
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        out.push_str(&value(after[..close].trim()).unwrap_or_default());
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// The text for `lang`: its own, its primary language's, English, the first.
pub fn pick<'a>(texts: &'a Texts, lang: &str) -> &'a str {
    let primary = lang.split('-').next().unwrap_or(lang);
    texts
        .get(lang)
        .or_else(|| texts.get(primary))
        .or_else(|| texts.get("en"))
        .or_else(|| texts.values().next())
        .map_or("", String::as_str)
}

impl FlowSpec {
    /// The flow checked; the error names the first part that cannot run.
    pub fn validated(mut self) -> Result<FlowSpec, DomainError> {
        if self.key.chars().count() > 64 {
            return Err(bad("key", message::max_chars(64)));
        }
        self.key = crate::ticket::normalize_tag(&self.key)
            .map_err(|_| bad("key", Code::CategoryKeyShape))?;
        if self.name.chars().count() > 100 {
            return Err(bad("name", message::chars(1, 100)));
        }
        self.name = crate::text::clean_line(&self.name);
        if self.name.is_empty() {
            return Err(bad("name", message::chars(1, 100)));
        }
        if self.phrases.is_empty() || self.phrases.len() > MAX_PHRASES {
            return Err(bad(
                "phrases",
                Message::new(Code::FlowPhrases).with("max_phrases", MAX_PHRASES),
            ));
        }
        let mut phrases = Vec::with_capacity(self.phrases.len());
        for p in &self.phrases {
            if p.chars().count() > MAX_PHRASE {
                return Err(bad(
                    "phrases",
                    Message::new(Code::FlowPhraseLength).with("max_phrase", MAX_PHRASE),
                ));
            }
            let p = crate::text::clean_line(p);
            if !p.is_empty() && !phrases.contains(&p) {
                phrases.push(p);
            }
        }
        if phrases.is_empty() {
            return Err(bad("phrases", Code::FlowPhraseWords));
        }
        self.phrases = phrases;
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return Err(bad(
                "steps",
                Message::new(Code::FlowSteps).with("max_steps", MAX_STEPS),
            ));
        }
        for (i, step) in self.steps.iter_mut().enumerate() {
            let at = format!("steps[{i}]");
            let known = |text: &str, at: &str| -> Result<(), DomainError> {
                for s in slots(text, at)? {
                    let ok = match s.strip_prefix("answer.") {
                        Some(var) => is_var(var),
                        None => PLACEHOLDERS.contains(&s.as_str()),
                    };
                    if !ok {
                        return Err(bad(
                            at,
                            Message::new(Code::PlaceholderUnknown)
                                .with("name", format!("{{{{{s}}}}}"))
                                .with(
                                    "known",
                                    format!("answer.<var>, {}", PLACEHOLDERS.join(", ")),
                                ),
                        ));
                    }
                }
                Ok(())
            };
            let texts = |t: &mut Texts, at: &str| -> Result<(), DomainError> {
                if t.is_empty() || t.len() > 20 {
                    return Err(bad(at, Code::FlowTexts));
                }
                let mut clean = Texts::new();
                for (lang, text) in t.iter() {
                    let l = crate::identity::normalize_language(lang)
                        .map_err(|e| bad(at, e.message()))?;
                    if text.chars().count() > MAX_TEXT {
                        return Err(bad(at, message::max_chars(MAX_TEXT)));
                    }
                    let text = crate::text::clean_body(text).trim().to_owned();
                    if text.is_empty() {
                        return Err(bad(at, Message::new(Code::FlowTextEmpty).with("l", l)));
                    }
                    clean.insert(l, text);
                }
                *t = clean;
                Ok(())
            };
            match step {
                Step::Ask {
                    var,
                    prompt,
                    expect,
                    choices,
                    skip_if_order,
                } => {
                    texts(prompt, &format!("{at}.prompt"))?;
                    for t in prompt.values() {
                        known(t, &format!("{at}.prompt"))?;
                    }
                    if !is_var(var) {
                        return Err(bad(&format!("{at}.var"), Code::FlowVarShape));
                    }
                    match expect {
                        Expect::Choice => {
                            if choices.len() < 2 || choices.len() > 20 {
                                return Err(bad(&format!("{at}.choices"), Code::FlowChoices));
                            }
                            for c in choices.iter_mut() {
                                let long = c.chars().count() > 100;
                                *c = crate::text::clean_line(c);
                                if c.is_empty() || long {
                                    return Err(bad(
                                        &format!("{at}.choices"),
                                        Code::FlowChoiceLength,
                                    ));
                                }
                            }
                        }
                        _ if !choices.is_empty() => {
                            return Err(bad(&format!("{at}.choices"), Code::FlowChoicesNeedExpect));
                        }
                        _ => {}
                    }
                    if *skip_if_order && *expect != Expect::OrderNumber {
                        return Err(bad(&format!("{at}.skip_if_order"), Code::FlowSkipOnlyOrder));
                    }
                }
                Step::FindOrder { var, not_found } => {
                    texts(not_found, &format!("{at}.not_found"))?;
                    for t in not_found.values() {
                        known(t, &format!("{at}.not_found"))?;
                    }
                    if let Some(v) = var
                        && !is_var(v)
                    {
                        return Err(bad(&format!("{at}.var"), Code::FlowVarShape));
                    }
                }
                Step::Say { text } => {
                    texts(text, &format!("{at}.text"))?;
                    for t in text.values() {
                        known(t, &format!("{at}.text"))?;
                    }
                }
                Step::FileTicket {
                    subject,
                    note: body,
                    tags,
                    ..
                } => {
                    let long = subject.chars().count() > 200;
                    *subject = crate::text::clean_line(subject);
                    if subject.is_empty() || long {
                        return Err(bad(&format!("{at}.subject"), message::chars(1, 200)));
                    }
                    if body.chars().count() > MAX_TEXT {
                        return Err(bad(&format!("{at}.note"), message::max_chars(MAX_TEXT)));
                    }
                    *body = crate::text::clean_body(body).trim().to_owned();
                    if body.is_empty() {
                        return Err(bad(&format!("{at}.note"), Code::NoteNeeded));
                    }
                    known(subject, &format!("{at}.subject"))?;
                    known(body, &format!("{at}.note"))?;
                    if tags.len() > 50 {
                        return Err(bad(&format!("{at}.tags"), Code::AtMostFiftyTags));
                    }
                    *tags = crate::ticket::normalize_tags(tags.iter().map(String::as_str))
                        .map_err(|e| bad(&format!("{at}.tags"), e.message()))?;
                }
                Step::Handoff { text, .. } => {
                    texts(text, &format!("{at}.text"))?;
                    for t in text.values() {
                        known(t, &format!("{at}.text"))?;
                    }
                }
            }
        }
        Ok(self)
    }

    /// Whether the steps hang together: every `{{answer.x}}` is asked before
    /// it is used (and asked once), a lookup's number is asked before it, an
    /// order's field comes after a lookup. The error says where it does not.
    pub fn coherent(&self) -> Result<(), crate::Message> {
        let mut asked: Vec<&str> = Vec::new();
        let mut order = false;
        for (i, step) in self.steps.iter().enumerate() {
            let texts: Vec<&str> = match step {
                Step::Ask { prompt, .. } => prompt.values().map(String::as_str).collect(),
                Step::FindOrder { not_found, .. } => {
                    not_found.values().map(String::as_str).collect()
                }
                Step::Say { text } | Step::Handoff { text, .. } => {
                    text.values().map(String::as_str).collect()
                }
                Step::FileTicket { subject, note, .. } => vec![subject.as_str(), note.as_str()],
            };
            for t in texts {
                for s in slots(t, "steps").map_err(|e| e.message())? {
                    match s.strip_prefix("answer.") {
                        Some(var) if !asked.contains(&var) => {
                            return Err(Message::new(Code::FlowAnswerBeforeAsked)
                                .with("step", i + 1)
                                .with("placeholder", format!("{{{{answer.{var}}}}}")));
                        }
                        None if s.starts_with("order.") && !order => {
                            return Err(Message::new(Code::FlowOrderBeforeFound)
                                .with("step", i + 1)
                                .with("placeholder", format!("{{{{{s}}}}}")));
                        }
                        _ => {}
                    }
                }
            }
            match step {
                Step::Ask { var, .. } => {
                    if asked.contains(&var.as_str()) {
                        return Err(Message::new(Code::FlowAskedTwice)
                            .with("step", i + 1)
                            .with("var", var));
                    }
                    asked.push(var);
                }
                Step::FindOrder { var, .. } => {
                    if let Some(v) = var
                        && !asked.contains(&v.as_str())
                    {
                        return Err(Message::new(Code::FlowOrderVarNotAsked)
                            .with("step", i + 1)
                            .with("var", v));
                    }
                    order = true;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The teams the flow names (they must be the workspace's).
    pub fn teams(&self) -> Vec<TeamId> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::FileTicket { team_id, .. } | Step::Handoff { team_id, .. } => *team_id,
                _ => None,
            })
            .collect()
    }
}

/// What a reply to an `ask` gives, or `None` when it does not fit.
pub fn answer(expect: Expect, choices: &[String], reply: &str) -> Option<String> {
    let reply = crate::text::clean_line(reply);
    if reply.is_empty() {
        return None;
    }
    match expect {
        Expect::Text => Some(reply.chars().take(MAX_ANSWER).collect()),
        Expect::OrderNumber => crate::order::numbers_in(&reply)
            .into_iter()
            .next()
            .map(|n| n.trim_start_matches(['#', '№']).to_owned()),
        Expect::Choice => {
            let r = reply.to_lowercase();
            let r = r.trim_end_matches(['.', '!', ')']);
            if let Ok(n) = r.parse::<usize>() {
                return choices.get(n.checked_sub(1)?).cloned();
            }
            choices
                .iter()
                .find(|c| c.to_lowercase() == r)
                .or_else(|| choices.iter().find(|c| r.contains(&c.to_lowercase())))
                .cloned()
        }
    }
}

/// Where a conversation is in a flow (kept between the customer's replies).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    pub key: String,
    /// The step waiting for the customer's reply.
    pub step: usize,
    pub answers: BTreeMap<String, String>,
    /// Replies that did not fit the current question.
    pub tries: u32,
    /// The order found, by its id.
    #[serde(default)]
    pub order_id: Option<OrderId>,
    /// The conversation was filed as a ticket for a team.
    #[serde(default)]
    pub filed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flow(steps: serde_json::Value) -> Result<FlowSpec, DomainError> {
        serde_json::from_value::<FlowSpec>(json!({
            "key": "Order-Status", "name": " Статус заказа ", "phrases": ["где мой заказ", "где мой заказ", "order status"],
            "steps": steps
        }))
        .map_err(|e| DomainError::invalid("flow", crate::Message::new(crate::Code::BadJson).with("reason", e)))?
        .validated()
    }

    #[test]
    fn a_flow_is_checked_whole() {
        let f = flow(json!([
            {"type": "ask", "var": "number", "expect": "order_number", "skip_if_order": true,
             "prompt": {"ru": "Назовите номер заказа", "en": "Your order number?"}},
            {"type": "find_order", "var": "number", "not_found": {"ru": "Не нашли заказ {{answer.number}}"}},
            {"type": "say", "text": {"ru": "Заказ {{order.number}}: {{order.status}} {{order.tracking_url}}"}}
        ]))
        .unwrap();
        assert_eq!(
            (f.key.as_str(), f.name.as_str(), f.phrases.len()),
            ("order-status", "Статус заказа", 2)
        );
        f.coherent().unwrap();
        for (steps, why) in [
            (
                json!([{"type": "say", "text": {"ru": "{{order.status}}"}}]),
                "order before a lookup",
            ),
            (
                json!([{"type": "say", "text": {"ru": "{{answer.x}}"}}]),
                "an answer never asked",
            ),
            (
                json!([{"type": "find_order", "var": "x", "not_found": {"en": "no"}}]),
                "a lookup of nothing asked",
            ),
            (
                json!([{"type": "ask", "var": "x", "prompt": {"en": "?"}}, {"type": "ask", "var": "x", "prompt": {"en": "?"}}]),
                "asked twice",
            ),
        ] {
            let f = flow(steps).expect(why);
            assert!(f.coherent().is_err(), "{why}");
        }
        for (steps, why) in [
            (
                json!([{"type": "say", "text": {"ru": "{{order.price}}"}}]),
                "an unknown placeholder",
            ),
            (
                json!([{"type": "say", "text": {"ru": "{{answer.Bad Var}}"}}]),
                "a bad answer name",
            ),
            (json!([{"type": "say", "text": {}}]), "no text"),
            (
                json!([{"type": "say", "text": {"xx-!": "hi"}}]),
                "not a language",
            ),
            (
                json!([{"type": "ask", "var": "r", "expect": "choice", "choices": ["one"], "prompt": {"en": "?"}}]),
                "one choice",
            ),
            (
                json!([{"type": "ask", "var": "R r", "prompt": {"en": "?"}}]),
                "a bad var",
            ),
            (json!([]), "no steps"),
            (
                json!([{"type": "say", "text": {"en": "{{oops"}}]),
                "unclosed",
            ),
        ] {
            assert!(flow(steps).is_err(), "{why}");
        }
    }

    #[test]
    fn replies_are_read_as_the_question_expects() {
        let choices = vec!["Не подошёл размер".to_owned(), "Брак".to_owned()];
        assert_eq!(
            answer(Expect::Choice, &choices, "2").as_deref(),
            Some("Брак")
        );
        assert_eq!(
            answer(Expect::Choice, &choices, "брак!").as_deref(),
            Some("Брак")
        );
        assert_eq!(answer(Expect::Choice, &choices, "3"), None);
        assert_eq!(answer(Expect::Choice, &choices, "не знаю"), None);
        assert_eq!(
            answer(Expect::OrderNumber, &[], "заказ №5531, пожалуйста").as_deref(),
            Some("5531")
        );
        assert_eq!(answer(Expect::OrderNumber, &[], "не помню"), None);
        assert_eq!(
            answer(Expect::Text, &[], "  куртка  ").as_deref(),
            Some("куртка")
        );
        assert_eq!(answer(Expect::Text, &[], " \u{7} "), None);
    }

    #[test]
    fn texts_are_picked_by_language_and_filled() {
        let t: Texts = [
            ("ru".to_owned(), "Заказ {{order.number}}".to_owned()),
            ("en".to_owned(), "Order {{ order.number }}".to_owned()),
        ]
        .into();
        assert_eq!(pick(&t, "ru-RU"), "Заказ {{order.number}}");
        assert_eq!(pick(&t, "th"), "Order {{ order.number }}");
        let v = |s: &str| (s == "order.number").then(|| "5531".to_owned());
        assert_eq!(render(pick(&t, "th"), v), "Order 5531");
        assert_eq!(render("{{answer.x}}!", v), "!");
    }
}
