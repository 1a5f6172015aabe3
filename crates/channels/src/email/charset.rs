//! Turning the bytes of a header or a text part into text when the label is
//! missing or wrong.
//!
//! Real mail from Russian and Thai senders carries raw 8-bit text with no charset,
//! and KOI8-R text labelled windows-1251. Decoding such bytes as labelled gives
//! mojibake that reads as nonsense but is valid text, so the label is checked
//! against a letter-frequency score over the single-byte Cyrillic and Thai
//! charsets that mail uses, and the best decoding wins by a clear margin only.

use encoding_rs::Encoding;

/// The single-byte charsets tried when bytes are not UTF-8.
const CANDIDATES: [&Encoding; 5] = [
    encoding_rs::WINDOWS_1251,
    encoding_rs::KOI8_R,
    encoding_rs::WINDOWS_874,
    encoding_rs::ISO_8859_5,
    encoding_rs::IBM866,
];

/// The encoding a MIME charset label names. encoding_rs follows the WHATWG labels,
/// which already map `tis-620` and `iso-8859-11` to windows-874; a few labels seen
/// in mail are added.
pub fn by_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('"').to_ascii_lowercase();
    let l = match l.as_str() {
        "cp1251" | "win-1251" => "windows-1251",
        "cp874" | "x-windows-874" => "windows-874",
        "cp866" | "ibm-866" => "ibm866",
        "koi8r" => "koi8-r",
        "x-mac-cyrillic" | "maccyrillic" => "x-mac-cyrillic",
        "utf8" => "utf-8",
        "ansi_x3.4-1968" | "us-ascii" | "ascii" => "windows-1252",
        other => other,
    };
    Encoding::for_label(l.as_bytes())
}

/// How much `s` reads like natural Russian, Thai or English text: common letters
/// score, letters that only mojibake produces (a capital inside a lower-case word,
/// box drawing, replacement characters, C1 controls) cost.
pub fn score(s: &str) -> i64 {
    let mut total = 0i64;
    let mut prev_lower = false;
    for c in s.chars() {
        let lower = c.is_lowercase();
        total += match c {
            'о' | 'е' | 'а' | 'и' | 'н' | 'т' | 'с' | 'р' | 'в' | 'л' | 'к' | 'м' | 'д' | 'п'
            | 'у' => 3,
            'а'..='я' | 'ё' => 1,
            'А'..='Я' | 'Ё' if prev_lower => -4,
            'А'..='Я' | 'Ё' => 0,
            // Thai consonants, vowels and tone marks.
            '\u{0E01}'..='\u{0E5B}' => 2,
            'a'..='z' | 'A'..='Z' | '0'..='9' => 1,
            ' ' | '\n' | '\r' | '\t' | '.' | ',' | '!' | '?' | ':' | ';' | '-' | '(' | ')' => 0,
            '\u{FFFD}' => -20,
            '\u{0080}'..='\u{009F}' => -20,
            '\u{2500}'..='\u{25FF}' => -6,
            c if c.is_alphabetic() => -2,
            _ => -1,
        };
        prev_lower = lower;
    }
    total
}

/// Decodes bytes whose charset is `label` (if any). Unlabelled bytes that are not
/// valid UTF-8 are decoded with the best-scoring single-byte charset; a
/// single-byte label is overruled only when another charset reads much better.
pub fn decode(bytes: &[u8], label: Option<&str>) -> String {
    let declared = label.and_then(by_label);
    if bytes.is_ascii() {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match declared {
        Some(enc) if enc == encoding_rs::UTF_8 => {
            match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                // Mislabelled legacy bytes are far more common than broken UTF-8.
                Err(_) => best_single_byte(bytes, None),
            }
        }
        Some(enc) if CANDIDATES.contains(&enc) => best_single_byte(bytes, Some(enc)),
        Some(enc) => enc.decode_without_bom_handling(bytes).0.into_owned(),
        None => match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => best_single_byte(bytes, None),
        },
    }
}

fn best_single_byte(bytes: &[u8], declared: Option<&'static Encoding>) -> String {
    let decode = |enc: &'static Encoding| enc.decode_without_bom_handling(bytes).0.into_owned();
    let mut best: Option<(i64, String)> = declared.map(|enc| {
        let s = decode(enc);
        (score(&s), s)
    });
    let baseline = best.as_ref().map(|(s, _)| *s);
    for enc in CANDIDATES {
        if Some(enc) == declared {
            continue;
        }
        let s = decode(enc);
        let sc = score(&s);
        let wins = match (&best, baseline) {
            (None, _) => true,
            // Overrule a declared charset only by a wide margin.
            (Some((b, _)), Some(base)) => sc > *b && sc > base + (base.abs() / 2).max(8),
            (Some((b, _)), None) => sc > *b,
        };
        if wins {
            best = Some((sc, s));
        }
    }
    best.map(|(_, s)| s).unwrap_or_default()
}

/// The charset an HTML document names in a `<meta>` tag within its first 2 KB.
pub fn html_meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(2048)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = lower.find("charset=")? + "charset=".len();
    let rest = lower[at..].trim_start_matches(['"', '\'', ' ']);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RU: &str = "Здравствуйте! Не могу войти в личный кабинет после смены пароля.";
    const TH: &str = "สวัสดีค่ะ สินค้าที่ได้รับชำรุด ต้องการขอคืนเงินค่ะ";

    fn enc(s: &str, e: &'static Encoding) -> Vec<u8> {
        e.encode(s).0.into_owned()
    }

    #[test]
    fn unlabelled_legacy_bytes_are_recognised() {
        for e in [
            encoding_rs::WINDOWS_1251,
            encoding_rs::KOI8_R,
            encoding_rs::ISO_8859_5,
        ] {
            assert_eq!(decode(&enc(RU, e), None), RU, "{}", e.name());
        }
        assert_eq!(decode(&enc(TH, encoding_rs::WINDOWS_874), None), TH);
        assert_eq!(decode(RU.as_bytes(), None), RU);
    }

    #[test]
    fn a_wrong_single_byte_label_is_overruled_and_a_right_one_kept() {
        let koi = enc(RU, encoding_rs::KOI8_R);
        assert_eq!(decode(&koi, Some("windows-1251")), RU);
        assert_eq!(decode(&koi, Some("koi8-r")), RU);
        assert_eq!(
            decode(&enc(RU, encoding_rs::WINDOWS_1251), Some("cp1251")),
            RU
        );
        // UTF-8 labelled text that is not UTF-8 is decoded as legacy bytes.
        assert_eq!(
            decode(&enc(RU, encoding_rs::WINDOWS_1251), Some("utf-8")),
            RU
        );
    }

    #[test]
    fn thai_labels_map_to_windows_874() {
        for l in ["tis-620", "TIS-620", "iso-8859-11", "windows-874", "cp874"] {
            assert_eq!(by_label(l), Some(encoding_rs::WINDOWS_874), "{l}");
        }
        assert_eq!(
            decode(&enc(TH, encoding_rs::WINDOWS_874), Some("tis-620")),
            TH
        );
    }

    #[test]
    fn meta_charset_is_found() {
        let html = br#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=tis-620"></head>"#;
        assert_eq!(html_meta_charset(html).as_deref(), Some("tis-620"));
        assert_eq!(
            html_meta_charset(b"<meta charset='UTF-8'>").as_deref(),
            Some("utf-8")
        );
        assert_eq!(html_meta_charset(b"<p>no meta</p>"), None);
    }
}
