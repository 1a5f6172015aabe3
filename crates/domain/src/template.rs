//! Text with placeholders — `{{customer.first_name}}`, `{{ticket.number}}` — as
//! macros, canned answers and rules' replies write it. The placeholders are a
//! closed set, checked when the text is saved ([`check`]), so a typo is an
//! error then rather than a hole in a message to a customer later.

use crate::Code;
use crate::DomainError;
use crate::Message;

/// Every placeholder a text may hold.
pub const PLACEHOLDERS: &[&str] = &[
    "customer.name",
    "customer.first_name",
    "customer.email",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "agent.name",
    "agent.first_name",
    "workspace.name",
    "order.number",
    "order.status",
    "order.tracking_url",
];

/// One piece of a text: literal, or a placeholder's name.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// The refusal for a `{{` without its `}}`.
pub fn unclosed() -> Message {
    Message::new(Code::PlaceholderOpen)
        .with("open", "{{")
        .with("close", "}}")
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, DomainError> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| DomainError::invalid("body", unclosed()))?;
        let name = after[..close].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(DomainError::invalid(
                "body",
                Message::new(Code::PlaceholderUnknown)
                    .with("name", format!("{{{{{name}}}}}"))
                    .with("known", PLACEHOLDERS.join(", ")),
            ));
        }
        out.push(Piece::Slot(name));
        rest = &after[close + 2..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// The placeholders `text` uses, each once, in order; an error names an
/// unknown one or an unclosed `{{`.
pub fn check(text: &str) -> Result<Vec<&'static str>, DomainError> {
    let mut used: Vec<&'static str> = Vec::new();
    for p in pieces(text)? {
        if let Piece::Slot(name) = p
            && let Some(known) = PLACEHOLDERS.iter().find(|k| **k == name)
            && !used.contains(known)
        {
            used.push(known);
        }
    }
    Ok(used)
}

/// `text` with its placeholders filled by `value`; one without a value (an
/// order field on a ticket without an order) becomes empty.
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, DomainError> {
    let mut out = String::with_capacity(text.len());
    for p in pieces(text)? {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Slot(name) => out.push_str(&value(name).unwrap_or_default()),
        }
    }
    Ok(out)
}

/// The first word of a name ("Анна Петрова" → "Анна"), as greetings use it.
pub fn first_name(name: &str) -> String {
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(name: &str) -> Option<String> {
        match name {
            "customer.first_name" => Some(first_name("Анна Петрова")),
            "ticket.number" => Some("1042".into()),
            "agent.name" => Some("สมชาย ใจดี".into()),
            _ => None,
        }
    }

    #[test]
    fn placeholders_are_filled_in_any_language() {
        let t = "Здравствуйте, {{customer.first_name}}! Обращение #{{ ticket.number }}. {{order.tracking_url}}— {{agent.name}}";
        assert_eq!(
            render(t, values).unwrap(),
            "Здравствуйте, Анна! Обращение #1042. — สมชาย ใจดี"
        );
        assert_eq!(
            check(t).unwrap(),
            vec![
                "customer.first_name",
                "ticket.number",
                "order.tracking_url",
                "agent.name"
            ]
        );
        assert_eq!(
            render("no placeholders {here}", values).unwrap(),
            "no placeholders {here}"
        );
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_refused() {
        let err = check("Hello {{customer.frist_name}}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("customer.frist_name") && err.contains("customer.first_name"),
            "{err}"
        );
        assert!(check("Hello {{customer.name").is_err());
        assert!(render("{{ticket.numbr}}", values).is_err());
    }
}
