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
    #[serde(default)]
    pub nps: NpsSettings,
}

/// NPS on a schedule: a customer is asked `after_days` after a ticket of
/// theirs is solved (the first since they were last asked), and never twice
/// within `every_days`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpsSettings {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "NpsSettings::default_after")]
    pub after_days: i64,
    #[serde(default = "NpsSettings::default_every")]
    pub every_days: i64,
}

impl NpsSettings {
    /// The bounds of `after_days` and of `every_days`.
    pub const AFTER: (i64, i64) = (1, 365);
    pub const EVERY: (i64, i64) = (30, 730);
    fn default_after() -> i64 {
        30
    }
    fn default_every() -> i64 {
        90
    }

    pub fn check(&self) -> Result<(), DomainError> {
        for (field, v, (lo, hi)) in [
            ("after_days", self.after_days, Self::AFTER),
            ("every_days", self.every_days, Self::EVERY),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(DomainError::invalid(field, message::range(lo, hi)));
            }
        }
        Ok(())
    }

    /// When a customer whose ticket was solved at `solved` (ms), and who was
    /// last asked at `last` (ms), is next asked.
    pub fn due(&self, solved: i64, last: Option<i64>) -> i64 {
        const DAY: i64 = 86_400_000;
        let after = solved + self.after_days * DAY;
        match last {
            Some(l) => after.max(l + self.every_days * DAY),
            None => after,
        }
    }
}

impl Default for NpsSettings {
    fn default() -> Self {
        NpsSettings {
            enabled: false,
            after_days: Self::default_after(),
            every_days: Self::default_every(),
        }
    }
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

    #[test]
    fn nps_comes_after_the_solve_and_never_within_the_interval() {
        let day = 86_400_000;
        let s = NpsSettings {
            enabled: true,
            ..Default::default()
        };
        assert_eq!(s.due(0, None), 30 * day);
        // Asked 80 days before this solve: not before day 90 after that.
        assert_eq!(s.due(100 * day, Some(20 * day)), 130 * day);
        assert_eq!(s.due(100 * day, Some(50 * day)), 140 * day);
        assert!(s.check().is_ok());
        let bad = NpsSettings {
            every_days: 7,
            ..s.clone()
        };
        assert!(bad.check().is_err());
        let old: SurveySettings = serde_json::from_str(r#"{"csat":{"enabled":true}}"#).unwrap();
        assert_eq!(old.nps, NpsSettings::default());
    }
}
