//! Satisfaction surveys: CSAT (1–5 with a comment) after a solved ticket; NPS
//! (0–10) on a schedule. One CSAT answer per ticket; a second replaces it.

use crate::{DomainError, message, wire_enum};
use serde::{Deserialize, Serialize};

wire_enum!(
    /// What a survey asks.
    SurveyKind {
        Csat = "csat",
        Nps = "nps",
    }
);

wire_enum!(
    /// What a low CSAT score does besides alerting: nothing more, reopen the
    /// ticket, or open a follow-up ticket for it.
    LowAction {
        None = "none",
        Reopen = "reopen",
        FollowUp = "follow_up",
    }
);

// `wire_enum!` makes the enum, and its variants take no `#[default]`.
#[allow(clippy::derivable_impls)]
impl Default for LowAction {
    fn default() -> Self {
        LowAction::None
    }
}

/// Longest comment kept.
pub const MAX_COMMENT: usize = 2000;

impl SurveyKind {
    /// The lowest and highest score.
    pub fn scale(self) -> (i64, i64) {
        match self {
            SurveyKind::Csat => (1, 5),
            SurveyKind::Nps => (0, 10),
        }
    }

    /// A score this low asks for a look (CSAT 1–2, NPS detractors 0–6).
    pub fn is_low(self, score: i64) -> bool {
        match self {
            SurveyKind::Csat => score <= 2,
            SurveyKind::Nps => score <= 6,
        }
    }
}

/// Checks an answer; the comment comes back cleaned (control characters out).
pub fn check_answer(kind: SurveyKind, score: i64, comment: &str) -> Result<String, DomainError> {
    let (lo, hi) = kind.scale();
    if !(lo..=hi).contains(&score) {
        return Err(DomainError::invalid("score", message::range(lo, hi)));
    }
    let comment = crate::text::clean_body(comment).trim().to_owned();
    if comment.chars().count() > MAX_COMMENT {
        return Err(DomainError::invalid(
            "comment",
            message::max_chars(MAX_COMMENT),
        ));
    }
    Ok(comment)
}

/// A workspace's survey settings (stored as JSON; what is absent is off).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveySettings {
    #[serde(default)]
    pub csat: CsatSettings,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatSettings {
    /// Ask the customer after a ticket is solved.
    #[serde(default)]
    pub enabled: bool,
    /// What a score of 1 or 2 does besides alerting the ticket's people.
    #[serde(default)]
    pub on_low: LowAction,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_checked_on_each_scale() {
        assert!(check_answer(SurveyKind::Csat, 5, "").is_ok());
        assert!(check_answer(SurveyKind::Csat, 0, "").is_err());
        assert!(check_answer(SurveyKind::Csat, 6, "").is_err());
        assert!(check_answer(SurveyKind::Nps, 0, "").is_ok());
        assert!(check_answer(SurveyKind::Nps, 11, "").is_err());
        assert_eq!(
            check_answer(SurveyKind::Csat, 4, "  спасибо\u{0}  ").unwrap(),
            "спасибо"
        );
        assert!(check_answer(SurveyKind::Csat, 4, &"я".repeat(MAX_COMMENT + 1)).is_err());
        assert!(SurveyKind::Csat.is_low(2) && !SurveyKind::Csat.is_low(3));
        assert!(SurveyKind::Nps.is_low(6) && !SurveyKind::Nps.is_low(7));
    }
}
