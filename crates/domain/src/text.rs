//! Reading message text: where the new part of an email ends and quoted history
//! or a signature begins, so that display can fold it (the stored text is never
//! cut).

/// Bidirectional formatting characters: they make text read differently from
/// what it is (`invoice\u{202E}fdp.exe` shows as `invoiceexe.pdf`).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// One line as it is stored (a subject, a name, a search): control and
/// bidirectional formatting characters become spaces, runs of spaces one,
/// and the ends are trimmed.
pub fn clean_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = if c.is_control() || is_bidi_control(c) {
            ' '
        } else {
            c
        };
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// A message body as it is stored: NUL and the other control characters go,
/// tabs and line breaks stay.
pub fn clean_body(raw: &str) -> String {
    if !raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return raw.to_owned();
    }
    raw.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// Lines that introduce a quoted original (the attribution mail clients write).
fn is_attribution(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    let ends = [
        "wrote:",
        "writes:",
        "пишет:",
        "написал:",
        "написала:",
        "написал(а):",
        "เขียนว่า:",
    ];
    (ends.iter().any(|e| l.ends_with(e)) && l.chars().count() <= 200) || is_separator(&l)
}

/// Separators that Outlook and webmail put above a forwarded or replied original.
fn is_separator(l: &str) -> bool {
    let t = l.trim_matches(|c: char| c == '-' || c == '_' || c == ' ');
    matches!(
        t,
        "original message"
            | "forwarded message"
            | "исходное сообщение"
            | "пересылаемое сообщение"
            | "ข้อความต้นฉบับ"
    ) && l.starts_with(['-', '_'])
}

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Most colleagues one note can mention.
pub const MAX_MENTIONS: usize = 20;

/// The `@handles` a note names, lower-cased, each once, in order: `@anna` or
/// `@anna@shop.example` at the start of a word (an e-mail address in the text
/// is not a mention), trailing punctuation left out.
pub fn mentions(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts_word = prev.is_none_or(|p| p.is_whitespace() || "([{\"'«“,;".contains(p));
        prev = Some(c);
        if c != '@' || !starts_word {
            continue;
        }
        let rest = &text[i + 1..];
        let end = rest
            .find(|ch: char| !(ch.is_alphanumeric() || "._+-@".contains(ch)))
            .unwrap_or(rest.len());
        let handle = rest[..end].trim_end_matches(['.', '-', '@']).to_lowercase();
        if handle.starts_with(char::is_alphanumeric)
            && handle.len() <= 254
            && !out.contains(&handle)
        {
            out.push(handle);
            if out.len() == MAX_MENTIONS {
                break;
            }
        }
    }
    out
}

/// The byte offset in `text` where quoted history or a signature begins, if any
/// follows some new text. The signature delimiter is `-- ` on a line of its own.
pub fn fold_point(text: &str) -> Option<usize> {
    let mut offsets = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        offsets.push((at, line.trim_end_matches(['\n', '\r'])));
        at += line.len();
    }
    let has_content_before = |i: usize| {
        offsets[..i]
            .iter()
            .any(|(_, l)| !l.trim().is_empty() && !is_quote(l))
    };
    for (i, &(start, line)) in offsets.iter().enumerate() {
        let rest = &offsets[i..];
        let fold_here = if line == "-- " || line == "--" {
            true
        } else if is_attribution(line) {
            // The attribution counts when quoted lines or the original follow it.
            is_separator(&line.trim().to_lowercase())
                || rest
                    .iter()
                    .skip(1)
                    .find(|(_, l)| !l.trim().is_empty())
                    .is_some_and(|(_, l)| is_quote(l))
        } else if is_quote(line) {
            // A quote counts only as trailing history: nothing new written below it.
            rest.iter()
                .all(|(_, l)| l.trim().is_empty() || is_quote(l) || *l == "-- ")
        } else {
            false
        };
        if fold_here && has_content_before(i) {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{MAX_MENTIONS, fold_point, mentions};

    #[test]
    fn mentions_are_handles_at_the_start_of_words() {
        assert_eq!(
            mentions(
                "@Boris глянь, пожалуйста; и (@anna@alpha.test). Пишите на help@shop.example, @boris"
            ),
            ["boris", "anna@alpha.test"]
        );
        assert_eq!(mentions("@ alone, a@b, @@x"), Vec::<String>::new());
        assert_eq!(mentions("«@mária_k»: ok"), ["mária_k"]);
        let many: String = (0..30).map(|i| format!("@u{i} ")).collect();
        assert_eq!(mentions(&many).len(), MAX_MENTIONS);
    }

    fn visible(t: &str) -> &str {
        fold_point(t).map_or(t, |i| &t[..i]).trim_end()
    }

    #[test]
    fn quoted_history_and_signatures_fold_in_three_languages() {
        let ru = "Иван, добрый день!\nПароль сброшен.\n\n03.03.2025 10:15, Иван Петров пишет:\n> Здравствуйте!\n> Не могу войти.\n";
        assert_eq!(visible(ru), "Иван, добрый день!\nПароль сброшен.");
        let en = "Thanks!\n\nOn Mon, 3 Mar 2025 at 10:15, Anna <a@example.com> wrote:\n\n> Where is it?\n";
        assert_eq!(visible(en), "Thanks!");
        let th = "ขอบคุณค่ะ\n\nเมื่อ 3 มี.ค. 2568 สมชาย เขียนว่า:\n> สวัสดีครับ\n";
        assert_eq!(visible(th), "ขอบคุณค่ะ");
        let sig = "See you.\n-- \nAnna, Shop\n+7 900 000 00 00\n";
        assert_eq!(visible(sig), "See you.");
        let outlook = "Done.\n\n-----Original Message-----\nFrom: Anna\nSent: Monday\n\nOld text";
        assert_eq!(visible(outlook), "Done.");
    }

    #[test]
    fn interleaved_replies_and_quote_only_messages_are_not_folded() {
        // Answers between quotes: the quotes are part of the reply.
        let inline = "> Where is it?\nIt left today.\n> And the refund?\nSent yesterday.\n";
        assert_eq!(fold_point(inline), None);
        // Nothing but a quote: nothing to fold it under.
        assert_eq!(fold_point("> only a quote\n"), None);
        assert_eq!(fold_point("Plain message, no history.\n"), None);
        // "wrote:" inside a sentence without quotes below is text.
        assert_eq!(fold_point("Hi\nMy friend wrote:\nthat it works\n"), None);
    }

    #[test]
    fn stored_text_loses_control_characters() {
        use super::{clean_body, clean_line};
        assert_eq!(clean_line("\u{1}\u{2}\t"), "");
        assert_eq!(clean_line("  Где\u{0}  мой\nзаказ "), "Где мой заказ");
        assert_eq!(clean_line("invoice\u{202E}fdp.exe"), "invoice fdp.exe");
        assert_eq!(clean_body("a\u{0}b\r\n\tc\u{7f}"), "ab\r\n\tc");
    }
}
