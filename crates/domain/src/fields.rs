//! Custom ticket fields defined per workspace, and the validation of their values.

use crate::Code;
use crate::Message;
use crate::message;
use crate::{DomainError, wire_enum};
use serde_json::Value;

wire_enum!(
    /// The type of a custom field's value.
    FieldType { Text = "text", Number = "number", Dropdown = "dropdown", Checkbox = "checkbox", Date = "date" }
);

/// A custom field as a workspace defines it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    pub key: String,
    pub field_type: FieldType,
    /// The allowed values of a dropdown; empty for other types.
    pub options: Vec<String>,
    /// Required fields must have a value before a ticket is solved.
    pub required: bool,
}

/// A field key: 1–64 of `a-z`, `0-9` and `_`, starting with a letter.
pub fn validate_key(key: &str) -> Result<(), DomainError> {
    let ok = (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid("key", Code::FieldKeyShape))
    }
}

/// Checks a dropdown's options: at least one, each 1–200 characters, no repeats.
pub fn validate_options(field_type: FieldType, options: &[String]) -> Result<(), DomainError> {
    match field_type {
        FieldType::Dropdown => {
            if options.is_empty() || options.len() > 500 {
                return Err(DomainError::invalid("options", Code::DropdownOptions));
            }
            let mut seen = std::collections::HashSet::new();
            for o in options {
                if o.trim().is_empty() || o.chars().count() > 200 || !seen.insert(o) {
                    return Err(DomainError::invalid(
                        "options",
                        Message::new(Code::DropdownOption).with("o", format!("{:?}", o)),
                    ));
                }
            }
            Ok(())
        }
        _ if options.is_empty() => Ok(()),
        _ => Err(DomainError::invalid("options", Code::OptionsOnDropdown)),
    }
}

impl FieldDef {
    /// The value to store for `raw`, or why it does not fit. `null` clears the field.
    pub fn validate(&self, raw: &Value) -> Result<Value, DomainError> {
        let field = format!("custom_fields.{}", self.key);
        let bad = |m: Message| Err(DomainError::invalid(field.clone(), m));
        match (self.field_type, raw) {
            (_, Value::Null) => Ok(Value::Null),
            (FieldType::Text, Value::String(s)) if s.chars().count() <= 10_000 => {
                Ok(Value::String(s.clone()))
            }
            (FieldType::Text, Value::String(_)) => bad(message::max_chars(10_000)),
            (FieldType::Number, Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => {
                Ok(raw.clone())
            }
            (FieldType::Checkbox, Value::Bool(_)) => Ok(raw.clone()),
            (FieldType::Dropdown, Value::String(s)) if self.options.iter().any(|o| o == s) => {
                Ok(raw.clone())
            }
            (FieldType::Dropdown, Value::String(s)) => bad(Message::new(Code::OneOf)
                .with("value", format!("{s:?}"))
                .with("values", self.options.join(", "))),
            (FieldType::Date, Value::String(s))
                if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() =>
            {
                Ok(raw.clone())
            }
            (FieldType::Date, Value::String(s)) => {
                bad(Message::new(Code::Date).with("value", format!("{s:?}")))
            }
            (t, _) => bad(Message::new(Code::FieldType).label("type", "fieldtype", t.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(t: FieldType) -> FieldDef {
        FieldDef {
            key: "f".into(),
            field_type: t,
            options: vec!["a".into(), "b".into()],
            required: false,
        }
    }

    #[test]
    fn values_are_checked_against_their_type() {
        let table = [
            (FieldType::Text, json!("hello"), true),
            (FieldType::Text, json!(3), false),
            (FieldType::Number, json!(3.5), true),
            (FieldType::Number, json!("3"), false),
            (FieldType::Checkbox, json!(true), true),
            (FieldType::Checkbox, json!("yes"), false),
            (FieldType::Dropdown, json!("a"), true),
            (FieldType::Dropdown, json!("c"), false),
            (FieldType::Date, json!("2026-02-28"), true),
            (FieldType::Date, json!("2026-02-30"), false),
            (FieldType::Date, json!(null), true),
        ];
        for (t, v, ok) in table {
            assert_eq!(def(t).validate(&v).is_ok(), ok, "{t} {v}");
        }
    }

    #[test]
    fn keys_and_options() {
        assert!(validate_key("order_number").is_ok());
        assert!(validate_key("Order").is_err());
        assert!(validate_key("1x").is_err());
        assert!(validate_options(FieldType::Dropdown, &[]).is_err());
        assert!(validate_options(FieldType::Dropdown, &["a".into(), "a".into()]).is_err());
        assert!(validate_options(FieldType::Text, &["a".into()]).is_err());
    }
}

wire_enum!(
    /// What a custom field describes.
    FieldTarget { Ticket = "ticket", Customer = "customer", Organization = "organization" }
);
