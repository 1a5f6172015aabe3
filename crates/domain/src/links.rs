//! Tracked short links (`/l/{code}`): where one may lead and what its code is.
//!
//! A link leads only to an address under one of the targets the workspace
//! registered (its shop, its campaign pages), so the short-link service is no
//! open redirect: a code is made for a registered address, and the redirect
//! reads the address from the link, never from the request.

use crate::error::DomainError;
use crate::message::Code;

/// Most link targets a workspace registers.
pub const MAX_TARGETS: usize = 50;
/// Longest address a link leads to.
pub const MAX_URL_CHARS: usize = 2000;
/// Characters of a code: 62⁸ ≈ 2.2·10¹⁴ codes, too many to guess one.
pub const CODE_CHARS: usize = 8;
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An address split where a prefix match must respect it: scheme and host
/// (with port) in lower case, then the rest from the first `/`, `?` or `#`.
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    origin: String,
    rest: String,
}

fn parts(url: &str) -> Option<Parts> {
    let (scheme, after) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (host, rest) = after.split_at(end);
    // A user name in the address (`https://shop.example@evil.example/`) is
    // the classic way to make one host look like another.
    let (name, port) = host.split_once(':').unwrap_or((host, "1"));
    if name.is_empty()
        || name.contains('@')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
        || port.is_empty()
        || !port.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(Parts {
        origin: format!("{scheme}://{}", host.to_ascii_lowercase()),
        rest: if rest.is_empty() {
            "/".into()
        } else {
            rest.into()
        },
    })
}

/// Checks an address a link may lead to, or a target prefix (no spaces
/// anywhere, padding included).
pub fn parse_url(field: &str, raw: &str) -> Result<String, DomainError> {
    let s = raw;
    if s.is_empty()
        || s.chars().count() > MAX_URL_CHARS
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
        || parts(s).is_none()
    {
        return Err(DomainError::invalid(field, Code::LinkTargetShape));
    }
    Ok(s.to_owned())
}

/// Whether `url` lies under one of `targets`: the same scheme and host, and
/// a path that continues the target's at a boundary (`https://a.example/shop`
/// covers `/shop`, `/shop/x` and `/shop?y`, not `/shopping`).
pub fn allowed(targets: &[String], url: &str) -> bool {
    let Some(u) = parts(url) else {
        return false;
    };
    targets.iter().filter_map(|t| parts(t)).any(|t| {
        t.origin == u.origin
            && u.rest.starts_with(&t.rest)
            && (t.rest.ends_with('/')
                || u.rest.len() == t.rest.len()
                || u.rest[t.rest.len()..].starts_with(['/', '?', '#']))
    })
}

/// Checks a list of targets before it is kept.
pub fn check_targets(targets: &[String]) -> Result<Vec<String>, DomainError> {
    if targets.len() > MAX_TARGETS {
        return Err(DomainError::invalid(
            "link_targets",
            crate::message::Message::new(Code::AtMost).with("max", MAX_TARGETS),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(targets.len());
    for t in targets {
        let t = parse_url("link_targets", t)?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// A code from 128 random bits (the caller's, from the system's generator).
pub fn code_of(random: [u8; 16]) -> String {
    let mut n = u128::from_le_bytes(random);
    let mut s = String::with_capacity(CODE_CHARS);
    for _ in 0..CODE_CHARS {
        s.push(char::from(ALPHABET[(n % 62) as usize]));
        n /= 62;
    }
    s
}

/// Whether `s` could be a code (a request for anything else is not looked up).
pub fn is_code(s: &str) -> bool {
    s.len() == CODE_CHARS && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn only_registered_targets_are_allowed() {
        let targets = t(&["https://shop.example/", "https://promo.example/spring"]);
        assert!(allowed(&targets, "https://shop.example/item/42?ref=mail"));
        assert!(allowed(&targets, "https://SHOP.example/"));
        assert!(allowed(&targets, "https://shop.example"));
        assert!(allowed(&targets, "https://promo.example/spring"));
        assert!(allowed(&targets, "https://promo.example/spring/sale"));
        assert!(allowed(&targets, "https://promo.example/spring?x=1"));
        assert!(!allowed(&targets, "https://promo.example/springfield"));
        assert!(!allowed(&targets, "https://promo.example/"));
        assert!(!allowed(&targets, "http://shop.example/"), "another scheme");
        assert!(!allowed(&targets, "https://shop.example.evil.example/"));
        assert!(!allowed(&targets, "https://shop.example@evil.example/"));
        assert!(!allowed(&targets, "https://shop.example:8443/"));
        assert!(!allowed(&targets, "javascript:alert(1)"));
        assert!(!allowed(&[], "https://shop.example/"));
    }

    #[test]
    fn addresses_are_checked() {
        assert!(parse_url("u", "https://shop.example/a").is_ok());
        assert!(parse_url("u", " https://shop.example/a").is_err());
        for bad in [
            "",
            "ftp://shop.example/",
            "https://",
            "https:///path",
            "https://a b.example/",
            "https://user@shop.example/",
            "https://shop.example:/",
            "https://shop.example:x/",
            "https://:443/",
            "https://[::1]/",
            "https://shop.example/a b",
            "shop.example",
        ] {
            assert!(parse_url("u", bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_targets(&t(&["https://a.example/", "https://a.example/"])).map(|v| v.len()),
            Ok(1)
        );
    }

    #[test]
    fn codes_are_short_and_differ() {
        let a = code_of([7; 16]);
        assert!(is_code(&a), "{a}");
        assert_ne!(a, code_of([8; 16]));
        assert_eq!(code_of([0; 16]), "00000000");
        assert!(!is_code("abc"));
        assert!(!is_code("abcd/efg"));
    }
}
