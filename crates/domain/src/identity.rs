//! Customer identities: how a person is known on one channel. An identity is unique
//! per workspace and kind, so it resolves to exactly one customer.

use crate::Code;
use crate::Message;
use crate::message;
use crate::{DomainError, wire_enum};

wire_enum!(
    /// The kind of a customer identity.
    IdentityKind {
        Email = "email",
        Phone = "phone",
        Telegram = "telegram",
        Whatsapp = "whatsapp",
        Vk = "vk",
        Facebook = "facebook",
        Instagram = "instagram",
        Viber = "viber",
        External = "external",
    }
);

wire_enum!(
    /// Why two customer profiles may be one person, when linking them
    /// automatically could be wrong. `claimed`: one typed an address or number
    /// (into a form, not proved by a channel) that the other has;
    /// `shared_identity`: the same number reached us on two channels but is
    /// marked as shared by several people; `names_differ`: the same number on two
    /// channels under names that do not agree; `two_profiles`: one message named
    /// identities that already belong to two profiles.
    MatchReason {
        Claimed = "claimed",
        SharedIdentity = "shared_identity",
        NamesDiffer = "names_differ",
        TwoProfiles = "two_profiles",
    }
);

impl IdentityKind {
    /// The same value under another kind that names the same thing: a WhatsApp
    /// account is a phone number.
    pub fn twin(self) -> Option<IdentityKind> {
        match self {
            IdentityKind::Phone => Some(IdentityKind::Whatsapp),
            IdentityKind::Whatsapp => Some(IdentityKind::Phone),
            _ => None,
        }
    }
}

/// Whether two display names could be the same person: yes when either is
/// unknown (no letters: a number or handle stood in for it) or they share a
/// word; names in different scripts do not agree, which errs on the side of
/// asking an agent.
pub fn names_agree(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        // Split on spaces and punctuation only: Thai tone marks are neither
        // letters nor digits but belong inside a word.
        s.split(|c: char| c.is_whitespace() || c.is_ascii_punctuation())
            .filter(|w| w.chars().count() >= 2 && w.chars().any(char::is_alphabetic))
            .map(str::to_lowercase)
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    wa.is_empty() || wb.is_empty() || wa.iter().any(|w| wb.contains(w))
}

/// An e-mail address, trimmed and lower-cased (help desks treat addresses as
/// case-insensitive so one person is one customer).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        // Lengths are counted in characters before lower-casing, as the API's
        // schema states them.
        let t = raw.trim();
        let bad = |m: &str| {
            Err(DomainError::invalid(
                "email",
                Message::new(Code::NotEmail)
                    .with("raw", format!("{:?}", raw))
                    .with("m", m),
            ))
        };
        if t.chars().count() > 254 {
            return bad("longer than 254 characters");
        }
        let Some((local, _)) = t.split_once('@') else {
            return bad("no @");
        };
        if local.is_empty() || local.chars().count() > 64 {
            return bad("the part before @ must have 1 to 64 characters");
        }
        let s = t.to_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return bad("no @");
        };
        if local.is_empty() {
            return bad("the part before @ must have 1 to 64 characters");
        }
        if domain.is_empty()
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return bad("the domain must have a dot and no dot at either end");
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')
        }) {
            return bad("spaces, quotes, brackets, commas and semicolons are not allowed");
        }
        if domain.contains('@') || domain.contains("..") {
            return bad("malformed domain");
        }
        Ok(EmailAddress(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not zero.
/// Accepts the usual ways people write numbers: spaces, dashes, dots, brackets,
/// and the `00` international prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

impl PhoneE164 {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
            .collect();
        let digits = if let Some(rest) = compact.strip_prefix('+') {
            rest
        } else if let Some(rest) = compact.strip_prefix("00") {
            rest
        } else {
            return Err(DomainError::invalid(
                "phone",
                Message::new(Code::PhonePlus).with("raw", format!("{:?}", raw)),
            ));
        };
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(DomainError::invalid(
                "phone",
                Message::new(Code::PhoneDigits).with("raw", format!("{:?}", raw)),
            ));
        }
        Ok(PhoneE164(format!("+{digits}")))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated identity value, normalised for its kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    kind: IdentityKind,
    value: String,
}

impl Identity {
    /// Normalises `raw` for `kind`: e-mail lower-cased, phones and WhatsApp numbers in
    /// E.164, Telegram usernames without `@` and lower-cased; other ids trimmed.
    pub fn parse(kind: IdentityKind, raw: &str) -> Result<Self, DomainError> {
        let value = match kind {
            IdentityKind::Email => EmailAddress::parse(raw)?.0,
            IdentityKind::Phone | IdentityKind::Whatsapp => {
                let with_plus = if raw.trim_start().starts_with(['+', '0']) {
                    raw.to_string()
                } else {
                    format!("+{}", raw.trim())
                };
                PhoneE164::parse(&with_plus)
                    .map_err(|_| {
                        DomainError::invalid(
                            kind.as_str(),
                            Message::new(Code::PhoneNumber).with("raw", format!("{:?}", raw)),
                        )
                    })?
                    .0
            }
            IdentityKind::Telegram => {
                let v = raw.trim();
                let v = v.strip_prefix('@').unwrap_or(v);
                other_id(kind, v)?.to_lowercase()
            }
            _ => other_id(kind, raw.trim())?.to_string(),
        };
        Ok(Identity { kind, value })
    }
    pub fn kind(&self) -> IdentityKind {
        self.kind
    }
    pub fn value(&self) -> &str {
        &self.value
    }
}

fn other_id(kind: IdentityKind, v: &str) -> Result<&str, DomainError> {
    if v.is_empty() || v.chars().count() > 255 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid(kind.as_str(), Code::ExternalIdShape));
    }
    Ok(v)
}

/// A person's display name: trimmed, at most 200 characters, control characters removed.
pub fn normalize_name(raw: &str) -> Result<String, DomainError> {
    let s = crate::text::clean_line(raw);
    if s.is_empty() {
        return Err(DomainError::invalid("name", Code::NotEmpty));
    }
    if s.chars().count() > 200 {
        return Err(DomainError::invalid("name", message::max_chars(200)));
    }
    Ok(s)
}

/// A BCP 47-ish language tag as Otklik stores it: two or three lower-case letters,
/// optionally `-` and a region (`ru`, `th`, `en-gb`).
pub fn normalize_language(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim().to_lowercase().replace('_', "-");
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or_default();
    let ok_primary =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let ok_rest =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if ok_primary && ok_rest {
        Ok(s)
    } else {
        Err(DomainError::invalid(
            "language",
            Message::new(Code::LanguageCode).with("raw", format!("{:?}", raw)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Anna@Example.COM ").map(|e| e.0).ok(),
            Some("anna@example.com".into())
        );
        for bad in [
            "anna",
            "anna@",
            "@example.com",
            "anna@localhost",
            "an na@example.com",
            "a@b..c",
            "x@.example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_become_e164() {
        let table = [
            ("+7 (900) 123-45-67", Some("+79001234567")),
            ("0066 81 234 5678", Some("+66812345678")),
            ("+44.20.7946.0958", Some("+442079460958")),
            ("89001234567", None),
            ("+0123456789", None),
            ("+12", None),
            ("+7900123456789012", None),
        ];
        for (raw, want) in table {
            assert_eq!(
                PhoneE164::parse(raw).ok().map(|p| p.0),
                want.map(String::from),
                "{raw}"
            );
        }
    }

    #[test]
    fn identities_normalise_per_kind() {
        let tg = Identity::parse(IdentityKind::Telegram, "@Anna_Shop").ok();
        assert_eq!(tg.map(|i| i.value), Some("anna_shop".to_string()));
        let wa = Identity::parse(IdentityKind::Whatsapp, "66812345678").ok();
        assert_eq!(wa.map(|i| i.value), Some("+66812345678".to_string()));
        assert!(Identity::parse(IdentityKind::Vk, "   ").is_err());
        assert!(Identity::parse(IdentityKind::External, "a\u{0}b").is_err());
    }

    #[test]
    fn names_agree_on_a_shared_word_or_when_unknown() {
        let table = [
            ("Anna Petrova", "anna", true),
            ("+79001234567", "Boris", true),
            ("น้อย", "น้อย ใจดี", true),
            ("Anna Petrova", "Boris Ivanov", false),
            ("Анна", "Anna", false),
            ("สมชาย ใจดี", "สมชาย", true),
        ];
        for (a, b, want) in table {
            assert_eq!(names_agree(a, b), want, "{a} / {b}");
        }
        assert_eq!(IdentityKind::Whatsapp.twin(), Some(IdentityKind::Phone));
        assert_eq!(IdentityKind::Email.twin(), None);
    }

    #[test]
    fn languages() {
        assert_eq!(normalize_language("en_GB").ok(), Some("en-gb".into()));
        assert!(normalize_language("russian").is_err());
        assert!(normalize_language("").is_err());
    }
}
