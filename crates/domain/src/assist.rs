//! The answer bot's vocabulary: what it decides for a customer's text and the
//! workspace's settings that bound it.

use crate::Code;
use crate::Message;
use crate::ids::TeamId;
use crate::message;
use crate::ticket::Priority;
use crate::{DomainError, wire_enum};
use serde::{Deserialize, Serialize};

/// The longest text the bot or triage reads; the rest is not looked at.
pub const MAX_TEXT: usize = 4_000;

wire_enum!(
    /// Why the bot gave a conversation to a person: no answer was sure
    /// enough; the customer asked for a person; the workspace has no FAQ
    /// entries or public articles to answer from; the bot is switched off
    /// (or, on email, not switched on). In a conversation also: the customer
    /// said the answer did not help; an agent stepped in first; a guided
    /// flow filed the conversation for a team (a return).
    HandoffReason {
        LowConfidence = "low_confidence",
        AskedForHuman = "asked_for_human",
        NoKnowledge = "no_knowledge",
        BotOff = "bot_off",
        NotHelpful = "not_helpful",
        AgentJoined = "agent_joined",
        FlowFiled = "flow_filed",
    }
);

wire_enum!(
    /// Where the bot is in a conversation: it has the customer's turn to
    /// answer (`bot`), it answered and waits to hear whether that helped, it
    /// gave the conversation to people (for good: it speaks no more there), or
    /// the customer said its answer helped.
    BotState {
        Bot = "bot",
        AwaitingFeedback = "awaiting_feedback",
        HandedOff = "handed_off",
        Resolved = "resolved",
    }
);

impl BotState {
    /// Whether the bot holds the conversation (people's routing waits).
    pub fn holds(self) -> bool {
        matches!(self, BotState::Bot | BotState::AwaitingFeedback)
    }
}

/// What a customer's short reply to "did this answer your question?" says:
/// `Some(true)` yes, `Some(false)` no, `None` neither (a new question).
/// Russian, English and Thai; a reply of more than six words is a new question.
pub fn feedback(text: &str) -> Option<bool> {
    let t: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if (c.is_ascii_punctuation() && c != '\'') || "«»“”„…—–".contains(c) {
                ' '
            } else {
                c
            }
        })
        .collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() || t.split(' ').count() > 6 {
        return None;
    }
    const NO: &[&str] = &[
        "нет",
        "не помогло",
        "не совсем",
        "неа",
        "no",
        "nope",
        "not really",
        "didn't help",
        "did not help",
        "it didn't",
        "ไม่",
        "👎",
    ];
    const YES: &[&str] = &[
        "да",
        "ага",
        "помогло",
        "спасибо",
        "благодарю",
        "отлично",
        "yes",
        "yeah",
        "yep",
        "yup",
        "thanks",
        "thank you",
        "it helped",
        "helped",
        "great",
        "perfect",
        "ใช่",
        "ขอบคุณ",
        "ได้แล้ว",
        "ช่วยได้",
        "👍",
    ];
    // Thai runs words together: a phrase may begin the reply without a space.
    let starts = |p: &str| {
        t == p
            || t.starts_with(&format!("{p} "))
            || (!p.is_ascii()
                && p.chars().all(|c| ('\u{0e00}'..='\u{0e7f}').contains(&c))
                && t.starts_with(p))
    };
    if NO.iter().any(|p| starts(p)) {
        return Some(false);
    }
    if YES.iter().any(|p| starts(p)) {
        return Some(true);
    }
    None
}

/// How a workspace's bot behaves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssistSettings {
    /// The bot speaks first in chat and the messengers.
    pub bot_enabled: bool,
    /// The bot also answers email tickets (off unless enabled).
    pub bot_on_email: bool,
    /// The least confidence (the chance the answer is right, 0–1) at which the
    /// bot answers; below it, it hands off.
    pub threshold: f32,
    /// The team hand-offs go to when triage suggests none.
    pub handoff_team_id: Option<TeamId>,
}

impl Default for AssistSettings {
    fn default() -> Self {
        AssistSettings {
            bot_enabled: true,
            bot_on_email: false,
            threshold: 0.7,
            handoff_team_id: None,
        }
    }
}

impl AssistSettings {
    pub fn validated(self) -> Result<AssistSettings, DomainError> {
        if !(0.0..=1.0).contains(&self.threshold) || self.threshold.is_nan() {
            return Err(DomainError::invalid("threshold", Code::Threshold));
        }
        Ok(self)
    }
}

/// How long one request to a provider may take, in milliseconds.
pub const PROVIDER_TIMEOUT_MS: std::ops::RangeInclusive<u32> = 500..=60_000;
/// How much an embedding may count beside a text's words.
pub const EMBEDDING_WEIGHT: std::ops::RangeInclusive<f32> = 0.1..=16.0;
/// The longest reply a chat model may be asked for, in tokens.
pub const MAX_TOKENS: std::ops::RangeInclusive<u32> = 16..=4_000;

/// A model's name as a provider spells it (`gpt-4o-mini`,
/// `intfloat/multilingual-e5-small`, `llama3.1:8b`): 1–200 letters, digits
/// and `._:/@+-`, starting with a letter or digit.
pub fn valid_model(name: &str) -> bool {
    (1..=200).contains(&name.len())
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b))
}

/// An OpenAI-compatible embeddings endpoint (`{base_url}/embeddings`): with
/// one, the bot's and triage's models read a text's embedding beside its
/// words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsProvider {
    pub base_url: String,
    pub model: String,
    pub timeout_ms: u32,
    /// How much the embedding counts beside the words (chosen on a
    /// validation split: 4 for multilingual-e5-small on CLINC150).
    pub weight: f32,
}

/// An OpenAI-compatible chat endpoint (`{base_url}/chat/completions`): with
/// one, a question no FAQ entry answers surely is answered from the articles
/// found for it, citing them, or handed off when none says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatProvider {
    pub base_url: String,
    pub model: String,
    pub timeout_ms: u32,
    pub max_tokens: u32,
}

/// A workspace's optional model providers (none by default: everything works
/// offline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Providers {
    #[serde(default)]
    pub embeddings: Option<EmbeddingsProvider>,
    #[serde(default)]
    pub chat: Option<ChatProvider>,
}

fn check_common(model: &str, timeout_ms: u32) -> Result<(), DomainError> {
    if !valid_model(model) {
        return Err(DomainError::invalid("model", Code::ProviderModel));
    }
    if !PROVIDER_TIMEOUT_MS.contains(&timeout_ms) {
        return Err(DomainError::invalid("timeout_ms", Code::ProviderTimeout));
    }
    Ok(())
}

impl EmbeddingsProvider {
    pub fn validated(self) -> Result<EmbeddingsProvider, DomainError> {
        check_common(&self.model, self.timeout_ms)?;
        if !EMBEDDING_WEIGHT.contains(&self.weight) {
            return Err(DomainError::invalid("weight", Code::EmbeddingWeight));
        }
        Ok(self)
    }
}

impl ChatProvider {
    pub fn validated(self) -> Result<ChatProvider, DomainError> {
        check_common(&self.model, self.timeout_ms)?;
        if !MAX_TOKENS.contains(&self.max_tokens) {
            return Err(DomainError::invalid(
                "max_tokens",
                message::range(16, 4_000),
            ));
        }
        Ok(self)
    }
}

/// How triage reads a customer's urgency and mood (rule conditions compare
/// these).
pub const URGENCIES: [&str; 2] = ["urgent", "normal"];
pub const SENTIMENTS: [&str; 3] = ["negative", "neutral", "positive"];

/// Most triage categories a workspace has.
pub const MAX_CATEGORIES: usize = 200;
/// Most example messages per category, and the longest one.
pub const MAX_EXAMPLES: usize = 100;
pub const MAX_EXAMPLE: usize = 1_000;
/// The longest description of a category.
pub const MAX_DESCRIPTION: usize = 2_000;

/// A triage category as written: `key` is what tickets carry as their
/// category (lower case, no spaces or commas, as tags), `name` what agents
/// read; the description and examples are what triage learns it from; the team
/// and priority are what it suggests for messages about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategorySpec {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub priority: Option<Priority>,
}

impl CategorySpec {
    pub fn validated(mut self) -> Result<CategorySpec, DomainError> {
        if self.key.chars().count() > 200 {
            return Err(DomainError::invalid("key", message::max_chars(200)));
        }
        self.key = crate::ticket::normalize_tag(&self.key)
            .map_err(|_| DomainError::invalid("key", Code::CategoryKeyShape))?;
        self.name = crate::text::clean_line(&self.name);
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err(DomainError::invalid("name", message::chars(1, 100)));
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Err(DomainError::invalid(
                "description",
                message::max_chars(MAX_DESCRIPTION),
            ));
        }
        self.description = crate::text::clean_body(&self.description).trim().to_owned();
        if self.examples.len() > MAX_EXAMPLES {
            return Err(DomainError::invalid(
                "examples",
                message::at_most(MAX_EXAMPLES),
            ));
        }
        let mut examples = Vec::with_capacity(self.examples.len());
        for e in &self.examples {
            if e.chars().count() > MAX_EXAMPLE {
                return Err(DomainError::invalid(
                    "examples",
                    Message::new(Code::ExampleLength).with("max_example", MAX_EXAMPLE),
                ));
            }
            let e = crate::text::clean_line(e);
            if !e.is_empty() && !examples.contains(&e) {
                examples.push(e);
            }
        }
        self.examples = examples;
        Ok(self)
    }
}

/// The priority triage suggests: the category's (normal without one), at
/// least high for an urgent or angry customer, urgent for both.
pub fn suggested_priority(base: Option<Priority>, urgent: bool, negative: bool) -> Priority {
    let base = base.unwrap_or(Priority::Normal);
    let floor = match (urgent, negative) {
        (true, true) => Priority::Urgent,
        (true, false) | (false, true) => Priority::High,
        (false, false) => Priority::Low,
    };
    let rank = |p: Priority| Priority::ALL.iter().position(|q| *q == p).unwrap_or(0);
    if rank(floor) > rank(base) {
        floor
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_three_languages() {
        for yes in [
            "Да, спасибо!",
            "да",
            "Yes",
            "yes thanks",
            "Thank you!",
            "ใช่ค่ะ",
            "ขอบคุณครับ",
            "👍",
        ] {
            assert_eq!(feedback(yes), Some(true), "{yes}");
        }
        for no in [
            "Нет",
            "не помогло(",
            "No.",
            "nope",
            "didn't help",
            "ไม่ใช่ค่ะ",
            "ไม่ได้ช่วยเลย",
            "👎",
        ] {
            assert_eq!(feedback(no), Some(false), "{no}");
        }
        for neither in [
            "а как вернуть товар?",
            "where is my order",
            "Да, но у меня есть ещё один вопрос про доставку в другой город",
            "",
            "ได้รับของแล้วแต่ของเสีย",
        ] {
            assert_eq!(feedback(neither), None, "{neither}");
        }
    }

    #[test]
    fn thresholds_are_chances() {
        let s = |t: f32| {
            AssistSettings {
                threshold: t,
                ..AssistSettings::default()
            }
            .validated()
        };
        assert!(s(0.0).is_ok() && s(1.0).is_ok() && s(0.7).is_ok());
        assert!(s(1.5).is_err() && s(-0.1).is_err() && s(f32::NAN).is_err());
    }

    #[test]
    fn priorities_rise_with_urgency_and_anger() {
        use Priority::*;
        assert_eq!(suggested_priority(None, false, false), Normal);
        assert_eq!(suggested_priority(Some(Low), false, false), Low);
        assert_eq!(suggested_priority(Some(Low), true, false), High);
        assert_eq!(suggested_priority(None, false, true), High);
        assert_eq!(suggested_priority(Some(Normal), true, true), Urgent);
        assert_eq!(suggested_priority(Some(Urgent), false, false), Urgent);
    }

    #[test]
    fn categories_are_checked_and_tidied() {
        let spec = CategorySpec {
            key: " Delivery ".into(),
            name: "Доставка".into(),
            description: "Где заказ, сроки доставки".into(),
            examples: vec!["где мой заказ".into(), " где мой заказ ".into(), "".into()],
            team_id: None,
            priority: None,
        };
        let v = spec.clone().validated().expect("valid");
        assert_eq!((v.key.as_str(), v.examples.len()), ("delivery", 1));
        assert!(
            CategorySpec {
                key: "two words".into(),
                ..spec.clone()
            }
            .validated()
            .is_err()
        );
        assert!(
            CategorySpec {
                name: " ".into(),
                ..spec
            }
            .validated()
            .is_err()
        );
    }
}
