//! The knowledge base's vocabulary: article states, who may read them, and the
//! slugs and keys that make clean URLs.

use crate::Code;
use crate::Message;
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

/// Most languages one help center is published in.
pub const MAX_LANGUAGES: usize = 20;

/// A help center's languages as configured: codes normalised (`pt_BR` →
/// `pt-br`), duplicates dropped, order kept (the first is the fallback), one to
/// [`MAX_LANGUAGES`] of them.
pub fn validate_languages<S: AsRef<str>>(codes: &[S]) -> Result<Vec<String>, DomainError> {
    if codes.is_empty() || codes.len() > MAX_LANGUAGES {
        return Err(DomainError::invalid(
            "languages",
            Message::new(Code::KbLanguages).with("max_languages", MAX_LANGUAGES),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(codes.len());
    for c in codes {
        let code = crate::identity::normalize_language(c.as_ref())?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

/// A language's name in itself, for language switchers; `None` for a code this
/// table does not know (show the code then).
pub fn native_name(code: &str) -> Option<&'static str> {
    let name = match code {
        "en" => "English",
        "ru" => "Русский",
        "th" => "ไทย",
        "uk" => "Українська",
        "be" => "Беларуская",
        "kk" => "Қазақ тілі",
        "uz" => "Oʻzbekcha",
        "ky" => "Кыргызча",
        "tg" => "Тоҷикӣ",
        "hy" => "Հայերեն",
        "ka" => "ქართული",
        "az" => "Azərbaycanca",
        "de" => "Deutsch",
        "fr" => "Français",
        "es" => "Español",
        "it" => "Italiano",
        "pt" => "Português",
        "pt-br" => "Português (Brasil)",
        "nl" => "Nederlands",
        "pl" => "Polski",
        "cs" => "Čeština",
        "sk" => "Slovenčina",
        "ro" => "Română",
        "hu" => "Magyar",
        "bg" => "Български",
        "sr" => "Српски",
        "hr" => "Hrvatski",
        "el" => "Ελληνικά",
        "tr" => "Türkçe",
        "sv" => "Svenska",
        "nb" | "no" => "Norsk",
        "da" => "Dansk",
        "fi" => "Suomi",
        "et" => "Eesti",
        "lv" => "Latviešu",
        "lt" => "Lietuvių",
        "ar" => "العربية",
        "he" => "עברית",
        "fa" => "فارسی",
        "ur" => "اردو",
        "hi" => "हिन्दी",
        "bn" => "বাংলা",
        "zh" | "zh-cn" | "zh-hans" => "中文",
        "zh-tw" | "zh-hant" => "中文（繁體）",
        "ja" => "日本語",
        "ko" => "한국어",
        "vi" => "Tiếng Việt",
        "id" => "Bahasa Indonesia",
        "ms" => "Bahasa Melayu",
        "lo" => "ລາວ",
        "km" => "ខ្មែរ",
        "my" => "မြန်မာ",
        "fil" | "tl" => "Filipino",
        _ => return None,
    };
    Some(name)
}

/// Whether a language is written right to left (its pages get `dir="rtl"`).
pub fn is_rtl(code: &str) -> bool {
    matches!(
        code.split('-').next().unwrap_or_default(),
        "ar" | "he" | "fa" | "ur" | "yi" | "ps" | "sd" | "ug" | "dv"
    )
}

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
        Err(DomainError::invalid("category", Code::KbKeyShape))
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
    fn configured_languages_are_normalised_and_bounded() {
        assert_eq!(
            validate_languages(&["ru", " EN ", "pt_BR", "ru"]).ok(),
            Some(vec!["ru".to_owned(), "en".to_owned(), "pt-br".to_owned()])
        );
        assert!(validate_languages::<&str>(&[]).is_err());
        assert!(validate_languages(&["ru", "русский"]).is_err());
        let many: Vec<String> = (0..21)
            .map(|i| format!("l{}", (b'a' + i) as char))
            .collect();
        assert!(validate_languages(&many).is_err());
        assert_eq!(native_name("de"), Some("Deutsch"));
        assert_eq!(native_name("xx"), None);
        assert!(is_rtl("ar") && is_rtl("he-il") && !is_rtl("ru"));
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
