//! The language a customer writes in. Scripts settle most cases at once
//! (Thai is Thai; Cyrillic is Russian unless letters only Ukrainian, Belarusian
//! or Kazakh use appear); otherwise trigram statistics (whatlang) name the
//! language, and short Latin text that they cannot call reliably is English.

/// A detected language: an ISO 639-1 code where one exists (`ru`, `en`, `th`,
/// `de`), else ISO 639-3; its English name; and how sure the detection is.
#[derive(Clone, Debug, PartialEq)]
pub struct Language {
    pub code: String,
    pub name: String,
    pub confidence: f32,
}

fn two_letter(code3: &str) -> Option<&'static str> {
    Some(match code3 {
        "eng" => "en",
        "rus" => "ru",
        "tha" => "th",
        "ukr" => "uk",
        "bel" => "be",
        "deu" => "de",
        "fra" => "fr",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "nld" => "nl",
        "pol" => "pl",
        "ces" => "cs",
        "slk" => "sk",
        "ron" => "ro",
        "hun" => "hu",
        "bul" => "bg",
        "srp" => "sr",
        "hrv" => "hr",
        "ell" => "el",
        "tur" => "tr",
        "swe" => "sv",
        "nob" => "nb",
        "dan" => "da",
        "fin" => "fi",
        "est" => "et",
        "lav" => "lv",
        "lit" => "lt",
        "cmn" => "zh",
        "jpn" => "ja",
        "kor" => "ko",
        "vie" => "vi",
        "ind" => "id",
        "arb" => "ar",
        "heb" => "he",
        "hin" => "hi",
        "kat" => "ka",
        "hye" => "hy",
        "aze" => "az",
        "uzb" => "uz",
        _ => return None,
    })
}

fn named(code: &str, name: &str, confidence: f32) -> Language {
    Language {
        code: code.to_owned(),
        name: name.to_owned(),
        confidence,
    }
}

/// The language of `text`; `None` when it has no letters at all.
pub fn detect(text: &str) -> Option<Language> {
    let text = match text.char_indices().nth(crate::features::MAX_CHARS) {
        Some((cut, _)) => &text[..cut],
        None => text,
    };
    let (mut thai, mut cyrillic, mut latin, mut letters) = (0usize, 0usize, 0usize, 0usize);
    let mut ukrainian = false;
    for c in text.chars() {
        if !c.is_alphabetic() {
            continue;
        }
        letters += 1;
        match c {
            '\u{0E00}'..='\u{0E7F}' => thai += 1,
            '\u{0400}'..='\u{04FF}' => {
                cyrillic += 1;
                ukrainian |= matches!(
                    c,
                    'і' | 'ї'
                        | 'є'
                        | 'ґ'
                        | 'І'
                        | 'Ї'
                        | 'Є'
                        | 'Ґ'
                        | 'ў'
                        | 'Ў'
                        | 'ә'
                        | 'ң'
                        | 'ү'
                        | 'ұ'
                        | 'қ'
                        | 'ғ'
                        | 'ө'
                        | 'һ'
                );
            }
            c if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    if letters == 0 {
        return None;
    }
    let share = |n: usize| n as f32 / letters as f32;
    if share(thai) >= 0.5 {
        return Some(named("th", "Thai", share(thai)));
    }
    if share(cyrillic) >= 0.5 && !ukrainian {
        return Some(named("ru", "Russian", share(cyrillic)));
    }
    let info = whatlang::detect(text);
    if let Some(info) = info
        .as_ref()
        .filter(|i| i.is_reliable() || share(cyrillic) >= 0.5)
    {
        let code3 = info.lang().code();
        let code = two_letter(code3).unwrap_or(code3);
        return Some(named(
            code,
            info.lang().eng_name(),
            info.confidence() as f32,
        ));
    }
    if share(latin) >= 0.5 {
        // Short Latin text (a few words) is English far more often than not in
        // support traffic; the low confidence says it was a guess.
        return Some(named("en", "English", 0.5 * share(latin)));
    }
    info.map(|i| {
        let code3 = i.lang().code();
        named(
            two_letter(code3).unwrap_or(code3),
            i.lang().eng_name(),
            i.confidence() as f32,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<String> {
        detect(text).map(|l| l.code)
    }

    #[test]
    fn scripts_and_statistics_name_languages() {
        assert_eq!(code("скока ждать посылку").as_deref(), Some("ru"));
        assert_eq!(code("ยังไม่ได้รับสินค้าเลยค่ะ").as_deref(), Some("th"));
        assert_eq!(code("where is my parcel").as_deref(), Some("en"));
        assert_eq!(code("refund").as_deref(), Some("en"));
        assert_eq!(
            code("Bonjour, je n'ai toujours pas reçu ma commande, pouvez-vous vérifier s'il vous plaît ?").as_deref(),
            Some("fr")
        );
        assert_eq!(
            code("Добрий день, де моє замовлення? Я чекаю вже тиждень і ніхто не відповідає")
                .as_deref(),
            Some("uk")
        );
        assert_eq!(code("12345 !!!"), None);
    }

    #[test]
    fn other_languages_are_named() {
        let l = detect(
            "Guten Tag, meine Bestellung ist noch nicht angekommen, können Sie bitte nachsehen?",
        );
        assert_eq!(
            l.map(|l| (l.code, l.name)),
            Some(("de".into(), "German".into()))
        );
    }
}
