//! The knowledge base's vocabulary: article states, who may read them, and the
//! slugs and keys that make clean URLs.

use crate::{DomainError, wire_enum};

wire_enum!(
    /// Whether an article's current text is out for readers.
    ArticleStatus { Draft = "draft", Published = "published" }
);

/// Who may read an article: anyone (the help center, `public`) or agents only
/// (`internal`), as for messages.
pub use crate::ticket::Visibility;

/// The languages the knowledge base is written in, unless configured otherwise.
pub const DEFAULT_LANGUAGES: [&str; 3] = ["ru", "en", "th"];

/// A category key: 1–64 of `a-z`, `0-9` and `-`, starting with a letter.
pub fn validate_category_key(key: &str) -> Result<(), DomainError> {
    let ok = (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "category",
            "1 to 64 of a-z, 0-9 and -, starting with a letter",
        ))
    }
}

/// A URL slug from a title: letters and digits of any script kept (Cyrillic and
/// Thai URLs are readable), lower-cased, runs of anything else one `-`, at most
/// 80 characters; `article` when nothing is left.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        let c = if c == 'ё' { 'е' } else { c };
        if c.is_alphanumeric() || is_thai_mark(c) {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= 80 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "article".into()
    } else {
        out
    }
}

/// Thai vowel and tone marks are not alphanumeric but belong inside words.
fn is_thai_mark(c: char) -> bool {
    matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_every_script_readable() {
        assert_eq!(slug("Обмен и возврат"), "обмен-и-возврат");
        assert_eq!(slug("  Where is my order?! "), "where-is-my-order");
        assert_eq!(slug("การคืนสินค้า"), "การคืนสินค้า");
        assert_eq!(slug("Ёлка"), "елка");
        assert_eq!(slug("???"), "article");
        assert!(slug(&"длинное ".repeat(40)).chars().count() <= 80);
    }

    #[test]
    fn category_keys_are_url_safe() {
        assert!(validate_category_key("returns").is_ok());
        assert!(validate_category_key("how-to-2").is_ok());
        assert!(validate_category_key("Returns").is_err());
        assert!(validate_category_key("").is_err());
        assert!(validate_category_key("возврат").is_err());
    }
}
