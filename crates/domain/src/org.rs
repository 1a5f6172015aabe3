//! Organisations: the companies customers belong to, and the email domains
//! that link a customer to one.

use crate::{Code, DomainError, Message};

/// Domains one organisation may claim.
pub const MAX_DOMAINS: usize = 20;

/// The pattern [`domain_name`] accepts, for the API's schema.
pub const DOMAIN_PATTERN: &str = "^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// A domain as given (ASCII: an internationalised one in its `xn--` form):
/// labels of letters, digits and inner hyphens, 1–63 characters each,
/// separated by dots, at least two, at most 253 characters in all; stored
/// lower-cased. Nothing else is let through, so a stored domain is safe
/// inside a LIKE pattern.
pub fn domain_name(raw: &str) -> Result<String, DomainError> {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if raw.len() <= 253 && raw.contains('.') && raw.split('.').all(label_ok) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(DomainError::invalid(
            "domains",
            Message::new(Code::DomainShape).with("value", raw),
        ))
    }
}

/// An organisation's domains: each checked, repeats dropped, sorted.
pub fn domain_names(raw: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out = raw
        .iter()
        .map(|d| domain_name(d))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    if out.len() > MAX_DOMAINS {
        return Err(DomainError::invalid(
            "domains",
            crate::message::at_most(MAX_DOMAINS),
        ));
    }
    Ok(out)
}

/// The domain of a stored (lower-cased) email address.
pub fn email_domain(email: &str) -> Option<&str> {
    email
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_folded_checked_and_deduplicated() {
        assert_eq!(domain_name("Acme.COM").unwrap(), "acme.com");
        assert_eq!(
            domain_name("xn--80a1acny.xn--p1ai").unwrap(),
            "xn--80a1acny.xn--p1ai"
        );
        let long = format!("{}.com", "a".repeat(64));
        for bad in [
            "acme",
            "acme..com",
            "-acme.com",
            "a%b.com",
            "a_b.com",
            "x@acme.com",
            ".com",
            "",
            " acme.com",
            "@acme.com",
            "почта.рф",
            "acme.com.",
            long.as_str(),
        ] {
            assert!(domain_name(bad).is_err(), "{bad}");
        }
        let d = domain_names(&["b.com".into(), "A.com".into(), "a.com".into()]).unwrap();
        assert_eq!(d, vec!["a.com", "b.com"]);
        let many: Vec<String> = (0..21).map(|i| format!("d{i}.com")).collect();
        assert!(domain_names(&many).is_err());
        assert_eq!(email_domain("anna@acme.com"), Some("acme.com"));
        assert_eq!(email_domain("anna"), None);
    }
}
