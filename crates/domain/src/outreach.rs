//! Proactive outreach: messages the workspace sends before a customer asks —
//! "shipped, here is your tracking", "delivery delayed", "delivered, how was
//! it?", a word to a customer at risk. A rule names the event it answers
//! (an order's status, a shipment's, a customer flagged at risk), the statuses
//! it is for, and its text per language; the workspace's settings bound how
//! often and when anyone is written to.

use crate::Code;
use crate::Message;
use crate::message;
use crate::order::{OrderStatus, ShipmentStatus};
use crate::{DomainError, wire_enum};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most rules a workspace has.
pub const MAX_RULES: usize = 50;
/// The longest text of a rule, per language.
pub const MAX_TEXT: usize = 2_000;

wire_enum!(
    /// What an outreach rule answers.
    OutreachOn {
        OrderStatus = "order.status_changed",
        Shipment = "order.shipment_updated",
        AtRisk = "customer.at_risk",
    }
);

/// A rule as written: `statuses` are order statuses for `order.status_changed`,
/// shipment statuses for `order.shipment_updated` (empty: any), none for
/// `customer.at_risk`; `texts` by language (`en`, `ru`, `th` …), with the
/// placeholders of [`crate::template`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutreachSpec {
    pub name: String,
    pub on: OutreachOn,
    #[serde(default)]
    pub statuses: Vec<String>,
    pub texts: BTreeMap<String, String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl OutreachSpec {
    /// Checked and normalised: a name, known statuses for the event, at least
    /// one text, languages as codes, placeholders known.
    pub fn validated(mut self) -> Result<OutreachSpec, DomainError> {
        self.name = crate::text::clean_line(&self.name);
        if self.name.is_empty() || self.name.chars().count() > 100 {
            return Err(DomainError::invalid("name", message::chars(1, 100)));
        }
        if self.statuses.len() > 10 {
            return Err(DomainError::invalid("statuses", message::at_most(10)));
        }
        for s in &self.statuses {
            let ok = match self.on {
                OutreachOn::OrderStatus => OrderStatus::parse(s).is_ok(),
                OutreachOn::Shipment => ShipmentStatus::parse(s).is_ok(),
                OutreachOn::AtRisk => false,
            };
            if !ok {
                return Err(DomainError::invalid(
                    "statuses",
                    Message::new(Code::OutreachStatus)
                        .with("s", format!("{:?}", s))
                        .with("on", self.on),
                ));
            }
        }
        self.statuses.sort();
        self.statuses.dedup();
        if self.texts.is_empty() || self.texts.len() > 20 {
            return Err(DomainError::invalid("texts", Code::LanguagesOneToTwenty));
        }
        let mut texts = BTreeMap::new();
        for (lang, text) in &self.texts {
            let lang = crate::identity::normalize_language(lang)
                .map_err(|e| DomainError::invalid("texts", e.message()))?;
            // Checked as written (the API states the bounds on what is sent);
            // kept as written but for surrounding space: cleaning control
            // characters out could join two braces into a placeholder.
            if text.chars().count() > MAX_TEXT
                || crate::text::clean_body(text.trim()).trim().is_empty()
            {
                return Err(DomainError::invalid(
                    format!("texts.{lang}"),
                    message::chars(1, MAX_TEXT),
                ));
            }
            crate::template::check(text)
                .map_err(|e| DomainError::invalid(format!("texts.{lang}"), e.message()))?;
            texts.insert(lang, text.trim().to_owned());
        }
        self.texts = texts;
        Ok(self)
    }

    /// Whether the rule answers an event with this status.
    pub fn covers(&self, on: OutreachOn, status: Option<&str>) -> bool {
        self.active
            && self.on == on
            && (self.statuses.is_empty()
                || status.is_some_and(|s| self.statuses.iter().any(|x| x == s)))
    }

    /// The text for a customer who reads `lang` (its primary part counts:
    /// `en-gb` takes `en`), else the workspace's language, else the first.
    pub fn text_for(&self, lang: Option<&str>, fallback: &str) -> Option<&str> {
        let primary = |l: &str| l.split('-').next().unwrap_or(l).to_owned();
        lang.and_then(|l| self.texts.get(l).or_else(|| self.texts.get(&primary(l))))
            .or_else(|| self.texts.get(fallback))
            .or_else(|| self.texts.get(&primary(fallback)))
            .or_else(|| self.texts.values().next())
            .map(String::as_str)
    }
}

/// When nobody is written to, as minutes after local midnight: `from` to `to`,
/// across midnight when `from > to` (21:00–09:00); equal means never quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub from: u16,
    pub to: u16,
}

impl QuietHours {
    pub fn validated(self) -> Result<QuietHours, DomainError> {
        if self.from >= 1440 || self.to >= 1440 {
            return Err(DomainError::invalid("quiet_hours", Code::OutreachTimes));
        }
        Ok(self)
    }

    /// Minutes from `now` (minutes after local midnight) until writing is
    /// allowed again; 0 when it is allowed now.
    pub fn wait(self, now: u16) -> u16 {
        let quiet = if self.from < self.to {
            (self.from..self.to).contains(&now)
        } else if self.from > self.to {
            now >= self.from || now < self.to
        } else {
            false
        };
        if !quiet {
            return 0;
        }
        (self.to + 1440 - now) % 1440
    }
}

/// Minutes after local midnight at `at` in the IANA zone `time_zone` (UTC
/// when the zone is unknown).
pub fn local_minutes(time_zone: &str, at: crate::Timestamp) -> u16 {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(at.millis()) {
        Ok(t) => {
            let z = t.to_zoned(tz);
            (z.hour() as u16) * 60 + z.minute() as u16
        }
        Err(_) => 0,
    }
}

/// How a workspace writes first: when not, and how often at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutreachSettings {
    pub quiet_hours: Option<QuietHours>,
    /// Outreach messages one customer gets in any 24 hours, at most.
    pub daily_limit: u16,
    /// Whether agents see suggestions from a customer's order history after
    /// a ticket is solved.
    pub upsell: bool,
}

impl Default for OutreachSettings {
    fn default() -> Self {
        OutreachSettings {
            quiet_hours: Some(QuietHours {
                from: 21 * 60,
                to: 9 * 60,
            }),
            daily_limit: 2,
            upsell: false,
        }
    }
}

impl OutreachSettings {
    pub fn validated(self) -> Result<OutreachSettings, DomainError> {
        if self.daily_limit > 20 {
            return Err(DomainError::invalid("daily_limit", message::range(0, 20)));
        }
        Ok(OutreachSettings {
            quiet_hours: self.quiet_hours.map(QuietHours::validated).transpose()?,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> OutreachSpec {
        OutreachSpec {
            name: "Shipped".into(),
            on: OutreachOn::OrderStatus,
            statuses: vec!["shipped".into()],
            texts: BTreeMap::from([
                (
                    "ru".into(),
                    "Заказ {{order.number}} отправлен: {{order.tracking_url}}".into(),
                ),
                ("EN".into(), "Order {{order.number}} has shipped".into()),
            ]),
            active: true,
        }
    }

    #[test]
    fn rules_are_checked_and_pick_the_readers_language() {
        let s = spec().validated().expect("valid");
        assert!(s.covers(OutreachOn::OrderStatus, Some("shipped")));
        assert!(!s.covers(OutreachOn::OrderStatus, Some("paid")));
        assert!(!s.covers(OutreachOn::Shipment, Some("shipped")));
        assert_eq!(
            s.text_for(Some("en-gb"), "ru"),
            Some("Order {{order.number}} has shipped")
        );
        assert!(
            s.text_for(Some("th"), "ru")
                .is_some_and(|t| t.starts_with("Заказ"))
        );
        let mut bad = spec();
        bad.statuses = vec!["lost".into()];
        assert!(bad.validated().is_err());
        let mut bad = spec();
        bad.texts.insert("ru".into(), "{{order.nmber}}".into());
        assert!(bad.validated().is_err());
        let mut bad = spec();
        bad.on = OutreachOn::AtRisk;
        assert!(bad.validated().is_err(), "at-risk rules take no statuses");
    }

    #[test]
    fn local_time_in_the_workspaces_zone() {
        // 2026-11-30 18:30 UTC is 21:30 in Moscow and 01:30 in Bangkok next day.
        let at = crate::Timestamp::parse_rfc3339("2026-11-30T18:30:00Z").expect("time");
        assert_eq!(local_minutes("Europe/Moscow", at), 21 * 60 + 30);
        assert_eq!(local_minutes("Asia/Bangkok", at), 60 + 30);
        assert_eq!(local_minutes("Nowhere/Else", at), 18 * 60 + 30);
    }

    #[test]
    fn quiet_hours_across_midnight() {
        let q = QuietHours {
            from: 21 * 60,
            to: 9 * 60,
        };
        assert_eq!(q.wait(12 * 60), 0);
        assert_eq!(q.wait(22 * 60), 11 * 60);
        assert_eq!(q.wait(8 * 60 + 30), 30);
        assert_eq!(q.wait(9 * 60), 0);
        let day = QuietHours {
            from: 13 * 60,
            to: 14 * 60,
        };
        assert_eq!(day.wait(13 * 60 + 15), 45);
        assert_eq!(QuietHours { from: 5, to: 5 }.wait(5), 0);
    }
}
