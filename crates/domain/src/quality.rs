//! Quality review: scorecards of weighted criteria, and a reviewer's scores
//! of one conversation on one scorecard.
//!
//! A criterion is rated on its own scale — 2 (no / yes), 3 or 5 points — or
//! left out as not applicable. A review's score is the weighted share of the
//! points reached over the criteria rated, 0–100:
//! `Σ weight · (value − 1) / (scale − 1) / Σ weight`.

use crate::message;
use crate::{Code, DomainError, Message};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most criteria a scorecard has; longest names and comments.
pub const MAX_CRITERIA: usize = 20;
pub const MAX_NAME: usize = 120;
pub const MAX_COMMENT: usize = 4000;
/// Most scorecards a workspace keeps.
pub const MAX_SCORECARDS: usize = 50;
/// Most tickets a sample draws per agent.
pub const MAX_SAMPLE: i64 = 20;

/// One thing a reviewer rates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// A short stable name the scores refer to (`a-z`, `0-9`, `_`).
    pub key: String,
    pub label: String,
    /// 1–10.
    pub weight: i64,
    /// 2 (no / yes), 3 or 5 points.
    pub scale: i64,
}

/// A scorecard as saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardSpec {
    pub name: String,
    pub criteria: Vec<Criterion>,
}

/// Why a scorecard or a review is refused: a field of the wrong shape (what
/// the API's schema says too), or a combination no schema can say — a key
/// twice, a scale of 4 points, a criterion the scorecard lacks, a value off
/// its scale, nothing rated, a name of spaces.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    Shape(DomainError),
    Conflict(Message),
}

impl From<DomainError> for Refusal {
    fn from(e: DomainError) -> Self {
        Refusal::Shape(e)
    }
}

fn bad(field: &str, m: impl Into<Message>) -> Refusal {
    Refusal::Shape(DomainError::invalid(field, m))
}

fn check_name(field: &str, s: &str) -> Result<String, Refusal> {
    if s.chars().count() > MAX_NAME || s.is_empty() {
        return Err(bad(field, message::chars(1, MAX_NAME)));
    }
    let clean = crate::text::clean_body(s).trim().to_owned();
    if clean.is_empty() {
        return Err(Refusal::Conflict(
            Message::new(Code::TextBlank).with("field", field),
        ));
    }
    Ok(clean)
}

impl ScorecardSpec {
    /// The scorecard checked, names trimmed: 1–20 criteria with distinct
    /// keys, weights 1–10, scales 2, 3 or 5.
    pub fn validated(self) -> Result<ScorecardSpec, Refusal> {
        let name = check_name("name", &self.name)?;
        if self.criteria.is_empty() {
            return Err(bad("criteria", Code::CriterionNeeded));
        }
        if self.criteria.len() > MAX_CRITERIA {
            return Err(bad("criteria", message::at_most(MAX_CRITERIA)));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut criteria = Vec::with_capacity(self.criteria.len());
        for (i, c) in self.criteria.into_iter().enumerate() {
            let field = |f: &str| format!("criteria[{i}].{f}");
            let key = c.key;
            if key.is_empty()
                || key.len() > 40
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(bad(&field("key"), Code::CriterionKey));
            }
            if !seen.insert(key.clone()) {
                return Err(Refusal::Conflict(
                    Message::new(Code::CriterionTwice).with("key", &key),
                ));
            }
            if !(1..=10).contains(&c.weight) {
                return Err(bad(&field("weight"), message::range(1, 10)));
            }
            if !(2..=5).contains(&c.scale) {
                return Err(bad(&field("scale"), message::range(2, 5)));
            }
            if c.scale == 4 {
                return Err(Refusal::Conflict(
                    Message::new(Code::CriterionScale).with("key", &key),
                ));
            }
            criteria.push(Criterion {
                label: check_name(&field("label"), &c.label)?,
                key,
                weight: c.weight,
                scale: c.scale,
            });
        }
        Ok(ScorecardSpec { name, criteria })
    }

    /// Checks a review's scores against the criteria: each a known key with a
    /// value on its scale (an absent key is not applicable), at least one;
    /// the score 0–100.
    pub fn score(&self, scores: &BTreeMap<String, i64>) -> Result<f64, Refusal> {
        let mut reached = 0.0;
        let mut weights = 0.0;
        for (key, v) in scores {
            let Some(c) = self.criteria.iter().find(|c| &c.key == key) else {
                return Err(Refusal::Conflict(
                    Message::new(Code::ScoreUnknown)
                        .with("key", format!("{key:?}"))
                        .with(
                            "keys",
                            self.criteria
                                .iter()
                                .map(|c| c.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                ));
            };
            if !(1..=c.scale).contains(v) {
                return Err(Refusal::Conflict(
                    Message::new(Code::ScoreOffScale)
                        .with("key", key)
                        .with("max", c.scale),
                ));
            }
            let w = c.weight as f64;
            reached += w * (v - 1) as f64 / (c.scale - 1) as f64;
            weights += w;
        }
        if weights == 0.0 {
            return Err(Refusal::Conflict(Code::RatingNeeded.into()));
        }
        Ok(reached / weights * 100.0)
    }
}

/// Checks a review's comment; it comes back cleaned.
pub fn check_comment(comment: &str) -> Result<String, DomainError> {
    if comment.chars().count() > MAX_COMMENT {
        return Err(DomainError::invalid(
            "comment",
            message::max_chars(MAX_COMMENT),
        ));
    }
    Ok(crate::text::clean_body(comment).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> ScorecardSpec {
        ScorecardSpec {
            name: " Чат ".into(),
            criteria: vec![
                Criterion {
                    key: "greeting".into(),
                    label: "Поздоровался".into(),
                    weight: 1,
                    scale: 2,
                },
                Criterion {
                    key: "solution".into(),
                    label: "Решил вопрос".into(),
                    weight: 3,
                    scale: 5,
                },
            ],
        }
    }

    #[test]
    fn a_score_is_the_weighted_share_of_the_points_reached() {
        let c = card().validated().unwrap();
        assert_eq!(c.name, "Чат");
        let s = |pairs: &[(&str, i64)]| {
            c.score(&pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
        };
        // yes (1 of 1) with weight 1; 4 of 5 (3 of 4 steps) with weight 3.
        assert_eq!(s(&[("greeting", 2), ("solution", 4)]).unwrap(), 81.25);
        assert_eq!(
            s(&[("greeting", 1)]).unwrap(),
            0.0,
            "only what was rated counts"
        );
        assert_eq!(s(&[("solution", 5)]).unwrap(), 100.0);
        assert!(s(&[]).is_err(), "at least one rating");
        assert!(s(&[("solution", 6)]).is_err(), "off the scale");
        assert!(s(&[("speed", 1)]).is_err(), "an unknown criterion");
    }

    #[test]
    fn scorecards_are_checked() {
        let mut twice = card();
        twice.criteria[1].key = "greeting".into();
        assert!(matches!(twice.validated(), Err(Refusal::Conflict(_))));
        let mut weight = card();
        weight.criteria[0].weight = 11;
        assert!(weight.validated().is_err());
        let mut scale = card();
        scale.criteria[0].scale = 4;
        assert!(matches!(scale.validated(), Err(Refusal::Conflict(_))));
        let mut key = card();
        key.criteria[0].key = "Приветствие".into();
        assert!(matches!(key.validated(), Err(Refusal::Shape(_))));
        let mut blank = card();
        blank.criteria[0].label = "  \u{0} ".into();
        assert!(matches!(blank.validated(), Err(Refusal::Conflict(_))));
        let empty = ScorecardSpec {
            name: "x".into(),
            criteria: vec![],
        };
        assert!(empty.validated().is_err());
    }
}
