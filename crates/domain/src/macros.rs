//! Macros (canned responses): a text with `{{placeholders}}` for the composer,
//! in the customer's language when a translation exists, and changes to the
//! ticket made when the macro is applied. Checked when saved, like rules.

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::message;
use crate::rules::Action;
use crate::ticket::Visibility;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest text and name.
pub const MAX_BODY: usize = 20_000;
pub const MAX_NAME: usize = 200;
/// Most actions and translations a macro carries.
pub const MAX_ACTIONS: usize = 20;
pub const MAX_TRANSLATIONS: usize = 20;

/// What a macro is, as saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroSpec {
    /// The text put into the composer; empty for a macro that only changes the
    /// ticket.
    #[serde(default)]
    pub body: String,
    /// The text per language (`ru`, `th`, `pt-br`), for customers who speak it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, String>,
    /// Whether the text goes out as a reply or stays an internal note.
    #[serde(default = "public")]
    pub visibility: Visibility,
    /// Changes to the ticket: status, priority, team, tier, category, tags,
    /// fields, assignee.
    #[serde(default)]
    pub actions: Vec<Action>,
}

fn public() -> Visibility {
    Visibility::Public
}

fn bad(field: &str, msg: impl Into<crate::Message>) -> DomainError {
    DomainError::invalid(field, msg)
}

fn check_text(field: &str, t: &str) -> Result<(), DomainError> {
    if t.chars().count() > MAX_BODY {
        return Err(bad(field, message::max_chars(MAX_BODY)));
    }
    crate::template::check(t)
        .map(|_| ())
        .map_err(|e| bad(field, e.message()))
}

impl MacroSpec {
    /// The macro checked: texts within bounds with known placeholders, actions
    /// that only change the ticket, and at least a text or an action.
    pub fn validated(self) -> Result<MacroSpec, DomainError> {
        check_text("body", &self.body)?;
        if self.translations.len() > MAX_TRANSLATIONS {
            return Err(bad(
                "translations",
                Message::new(Code::AtMostTranslations).with("max_translations", MAX_TRANSLATIONS),
            ));
        }
        for (lang, t) in &self.translations {
            if crate::identity::normalize_language(lang).ok().as_deref() != Some(lang.as_str()) {
                return Err(bad(
                    "translations",
                    Message::new(Code::LanguageTag).with("lang", format!("{:?}", lang)),
                ));
            }
            if t.trim().is_empty() {
                return Err(bad(&format!("translations.{lang}"), Code::TextNeeded));
            }
            check_text(&format!("translations.{lang}"), t)?;
        }
        if self.body.trim().is_empty() && !self.translations.is_empty() {
            return Err(bad("body", Code::TextNeededForTranslations));
        }
        if self.actions.len() > MAX_ACTIONS {
            return Err(bad(
                "actions",
                Message::new(Code::AtMostActions).with("max_actions", MAX_ACTIONS),
            ));
        }
        if self.body.trim().is_empty() && self.actions.is_empty() {
            return Err(bad("body", Code::MacroEmpty));
        }
        for (i, a) in self.actions.iter().enumerate() {
            let at = format!("actions[{i}]");
            match a {
                Action::SetStatus { .. }
                | Action::SetPriority { .. }
                | Action::SetTeam { .. }
                | Action::SetTier { .. }
                | Action::SetCategory { .. }
                | Action::AddTags { .. }
                | Action::RemoveTags { .. }
                | Action::SetField { .. }
                | Action::Assign { .. } => a.check(&at)?,
                _ => {
                    return Err(bad(&at, Code::MacroShape));
                }
            }
        }
        Ok(self)
    }

    /// The text for a customer speaking `language` (a translation, else the
    /// body), before placeholders are filled.
    pub fn text_for(&self, language: Option<&str>) -> &str {
        Action::reply_text(&self.body, &self.translations, language)
    }
}

/// A macro's name: trimmed, 1 to [`MAX_NAME`] characters.
pub fn name(raw: &str) -> Result<String, DomainError> {
    let n = crate::text::clean_line(raw);
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(bad("name", message::chars(1, MAX_NAME)));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> Result<MacroSpec, DomainError> {
        serde_json::from_value::<MacroSpec>(v)
            .map_err(|e| {
                DomainError::invalid(
                    "macro",
                    crate::Message::new(crate::Code::BadJson).with("reason", e),
                )
            })?
            .validated()
    }

    #[test]
    fn a_macro_has_a_text_in_the_customers_language_and_ticket_changes() {
        let m = spec(json!({
            "body": "Hello {{customer.first_name}}, your order {{order.number}} is on its way.",
            "translations": {"ru": "Здравствуйте, {{customer.first_name}}! Заказ {{order.number}} в пути.",
                             "th": "สวัสดีคุณ{{customer.first_name}} คำสั่งซื้อ {{order.number}} กำลังจัดส่ง"},
            "actions": [{"type": "add_tags", "tags": ["delivery"]}, {"type": "set_status", "status": "pending"}]
        }))
        .unwrap();
        assert_eq!(m.visibility, Visibility::Public);
        assert!(m.text_for(Some("ru-RU")).starts_with("Здравствуйте"));
        assert!(m.text_for(Some("th")).starts_with("สวัสดี"));
        assert!(m.text_for(Some("de")).starts_with("Hello"));
        assert!(spec(json!({"actions": [{"type": "set_priority", "priority": "high"}]})).is_ok());
        assert!(spec(json!({"body": "Note for the team", "visibility": "internal"})).is_ok());
    }

    #[test]
    fn what_a_macro_cannot_do_is_refused_by_name() {
        let cases = [
            (json!({}), "body"),
            (json!({"body": "  "}), "body"),
            (json!({"body": "Hi {{customer.nmae}}"}), "body"),
            (
                json!({"body": "Hi", "translations": {"RU": "Привет"}}),
                "translations",
            ),
            (
                json!({"body": "Hi", "translations": {"ru": "Привет {{x}}"}}),
                "translations.ru",
            ),
            (
                json!({"body": "Hi", "actions": [{"type": "webhook", "url": "https://x.example"}]}),
                "actions[0]",
            ),
            (
                json!({"body": "Hi", "actions": [{"type": "reply", "body": "again"}]}),
                "actions[0]",
            ),
            (
                json!({"body": "Hi", "actions": [{"type": "set_tier", "tier": 7}]}),
                "actions[0]",
            ),
        ];
        for (v, field) in cases {
            match spec(v.clone()) {
                Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field, "{v}"),
                other => panic!("{v}: {other:?}"),
            }
        }
        assert!(name(" ").is_err());
        assert_eq!(name("  Где заказ?  ").unwrap(), "Где заказ?");
    }
}
