//! The answer bot's vocabulary: what it decides for a customer's text and the
//! workspace's settings that bound it.

use crate::ids::TeamId;
use crate::{DomainError, wire_enum};
use serde::{Deserialize, Serialize};

/// The longest text the bot or triage reads; the rest is not looked at.
pub const MAX_TEXT: usize = 4_000;

wire_enum!(
    /// Why the bot gave a conversation to a person: no answer was sure
    /// enough; the customer asked for a person; the workspace has no FAQ
    /// entries or public articles to answer from; the bot is switched off
    /// (or, on email, not switched on).
    HandoffReason {
        LowConfidence = "low_confidence",
        AskedForHuman = "asked_for_human",
        NoKnowledge = "no_knowledge",
        BotOff = "bot_off",
    }
);

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
            return Err(DomainError::invalid("threshold", "a number from 0 to 1"));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
