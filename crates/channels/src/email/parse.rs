//! Raw RFC 5322 bytes → [`InboundEmail`].
//!
//! mail-parser does the MIME work (structure, transfer encodings, RFC 2047/2231).
//! Text is re-decoded from the part's raw bytes where its charset is missing,
//! single-byte Cyrillic or Thai (often mislabelled), or named only in an HTML
//! `<meta>`; headers with raw 8-bit bytes are re-decoded the same way.

use super::charset;
use domain::time::Timestamp;
use engine::email::{Address, AutoFlags, Bounce, InboundAttachment, InboundEmail};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use sha2::{Digest, Sha256};

/// Why a message could not be read at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message has no header section")]
    NotAMessage,
}

/// Longest header value kept (RFC 5322 allows 998 characters a line; folded
/// headers may be longer, hostile ones much longer).
const MAX_HEADER: usize = 16 * 1024;
const MAX_REFERENCES: usize = 100;

/// Parses one raw message. Never panics on any input; a message mail-parser
/// cannot structure at all is an error, anything else yields what could be read.
pub fn parse(raw: &[u8]) -> Result<InboundEmail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let body = strip_envelope(raw);
    let parsed = std::panic::catch_unwind(|| MessageParser::default().parse(body));
    let msg = match parsed {
        Ok(Some(m)) => m,
        Ok(None) => return Err(ParseError::NotAMessage),
        Err(_) => {
            tracing::error!("the MIME parser panicked; the message is kept as plain text");
            return Ok(fallback(raw));
        }
    };
    if msg.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    Ok(convert(raw, &msg))
}

/// Skips what some transports put before the headers: blank lines, and the mbox
/// `From ` separator line that pipe transports may add.
fn strip_envelope(raw: &[u8]) -> &[u8] {
    let mut rest = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
    loop {
        let line_end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let line = &rest[..line_end];
        let blank = line.iter().all(u8::is_ascii_whitespace);
        let mbox_from = line.starts_with(b"From ") && !line.contains(&b':');
        if (blank || mbox_from) && line_end < rest.len() {
            rest = &rest[line_end..];
        } else {
            return rest;
        }
    }
}

/// A message the parser could not handle: its bytes become the text.
fn fallback(raw: &[u8]) -> InboundEmail {
    InboundEmail {
        subject: String::new(),
        text: charset::decode(raw, None),
        raw_sha256: sha256_hex(raw),
        raw_size: raw.len(),
        ..InboundEmail::default()
    }
}

fn sha256_hex(raw: &[u8]) -> String {
    let d = Sha256::digest(raw);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn convert(raw: &[u8], msg: &Message<'_>) -> InboundEmail {
    let from = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| address(raw, msg, "From", a));
    let reply_to = msg
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| address(raw, msg, "Reply-To", a));
    let sender = msg
        .sender()
        .and_then(|a| a.first())
        .and_then(|a| address(raw, msg, "Sender", a));
    let envelope_from = header_plain(msg, "Return-Path")
        .map(|v| v.trim().trim_matches(['<', '>']).trim().to_lowercase())
        .filter(|v| plausible_address(v));
    let to = msg
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|x| address(raw, msg, "To", x))
                .take(200)
                .collect()
        })
        .unwrap_or_default();
    let cc = msg
        .cc()
        .map(|a| {
            a.iter()
                .filter_map(|x| address(raw, msg, "Cc", x))
                .take(200)
                .collect()
        })
        .unwrap_or_default();
    let subject = header_text(raw, msg, "Subject", msg.subject()).unwrap_or_default();
    let mut envelope_to = Vec::new();
    for h in msg.headers() {
        let name = h.name();
        if [
            "Delivered-To",
            "X-Original-To",
            "Envelope-To",
            "X-Envelope-To",
        ]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
            && let Some(v) = h.value().as_text()
        {
            let v = v.trim().trim_matches(['<', '>']).to_ascii_lowercase();
            if v.contains('@') && v.len() <= 320 && envelope_to.len() < 20 {
                envelope_to.push(v);
            }
        }
    }
    let (text, html) = bodies(msg);
    let auto = auto_flags(msg, from.as_ref());
    InboundEmail {
        message_id: msg.message_id().and_then(clean_id),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
        from,
        reply_to,
        sender,
        envelope_from,
        to,
        cc,
        envelope_to,
        subject,
        date: msg
            .date()
            .map(|d| Timestamp::from_millis(d.to_timestamp().saturating_mul(1000))),
        text,
        html,
        attachments: attachments(msg),
        auto,
        bounce: bounce(msg),
        language: header_plain(msg, "Content-Language")
            .map(|l| {
                l.split([',', ' '])
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            })
            .filter(|l| !l.is_empty() && l.len() <= 35),
        raw_sha256: sha256_hex(raw),
        raw_size: raw.len(),
    }
}

/// A message id without brackets, if it is usable as a key.
fn clean_id(s: &str) -> Option<String> {
    let s = s.trim().trim_matches(['<', '>']).trim();
    (!s.is_empty() && s.len() <= 900 && !s.chars().any(|c| c.is_control() || c.is_whitespace()))
        .then(|| s.to_owned())
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match v {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|c| c.as_ref()).collect(),
        _ => Vec::new(),
    };
    // The most recent references are the most useful: keep the tail of long lists.
    let skip = list.len().saturating_sub(MAX_REFERENCES);
    list.into_iter().skip(skip).filter_map(clean_id).collect()
}

fn header_plain<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a str> {
    msg.headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .and_then(|h| h.value().as_text())
}

/// The raw bytes of the first header called `name`, when they hold 8-bit data
/// that was not valid UTF-8 (mail-parser then shows replacement characters).
fn raw_8bit_header<'r>(raw: &'r [u8], msg: &Message<'_>, name: &str) -> Option<&'r [u8]> {
    let h = msg
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(h.offset_start() as usize..h.offset_end() as usize)?;
    (!bytes.is_ascii() && std::str::from_utf8(bytes).is_err()).then_some(bytes)
}

fn unfold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if i > 0 {
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
    }
    out.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_HEADER)
        .collect()
}

fn header_text(raw: &[u8], msg: &Message<'_>, name: &str, parsed: Option<&str>) -> Option<String> {
    if let Some(bytes) = raw_8bit_header(raw, msg, name) {
        return Some(unfold(&charset::decode(bytes, None)));
    }
    if parsed.is_some_and(|p| p.contains('\u{FFFD}'))
        && let Some(value) = raw_header(raw, msg, name)
        && let Some(joined) = decode_encoded_words(&value)
    {
        return Some(unfold(&joined));
    }
    parsed.map(unfold)
}

fn raw_header(raw: &[u8], msg: &Message<'_>, name: &str) -> Option<String> {
    let h = msg
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(h.offset_start() as usize..h.offset_end() as usize)?;
    Some(String::from_utf8_lossy(bytes).into_owned())
}

/// RFC 2047 decoding that joins adjacent encoded-words of one charset before
/// decoding them, as senders often split a multi-byte character across two words.
fn decode_encoded_words(value: &str) -> Option<String> {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut rest = value;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&charset::decode(&bytes, Some(&cs)));
        }
    };
    while let Some(start) = rest.find("=?") {
        let (before, word) = rest.split_at(start);
        let parsed = (|| {
            let inner = &word[2..];
            let (cs, inner) = inner.split_once('?')?;
            let (enc, inner) = inner.split_once('?')?;
            let end = inner.find("?=")?;
            let data = &inner[..end];
            let bytes = match enc.to_ascii_uppercase().as_str() {
                "B" => base64_decode(data.as_bytes())?,
                "Q" => quoted_printable_decode(data.replace('_', " ").as_bytes())?,
                _ => return None,
            };
            let len = 2 + cs.len() + 1 + enc.len() + 1 + end + 2;
            let cs = cs.split('*').next().unwrap_or(cs).to_ascii_lowercase();
            Some((cs, bytes, len))
        })();
        let Some((cs, bytes, len)) = parsed else {
            flush(&mut pending, &mut out);
            out.push_str(&word[..2]);
            rest = &word[2..];
            continue;
        };
        // Whitespace between two encoded-words is not part of the text.
        let between_words = pending.is_some() && before.trim().is_empty();
        if !between_words {
            flush(&mut pending, &mut out);
            out.push_str(before);
        }
        match &mut pending {
            Some((pcs, pbytes)) if *pcs == cs => pbytes.extend_from_slice(&bytes),
            _ => {
                flush(&mut pending, &mut out);
                pending = Some((cs, bytes));
            }
        }
        rest = &word[len.min(word.len())..];
    }
    flush(&mut pending, &mut out);
    out.push_str(rest);
    Some(out)
}

/// Something that can be written back to: one `@`, no spaces, not too long.
fn plausible_address(a: &str) -> bool {
    a.matches('@').count() == 1
        && !a.starts_with('@')
        && !a.ends_with('@')
        && a.len() <= 320
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// An address written inside the display name: Python's legacy `email` API
/// encodes a non-ASCII `Имя <addr>` as one encoded-word, which decodes to a name
/// holding the whole thing and no address.
fn address_in_name(name: &str) -> Option<(String, Option<String>)> {
    if let (Some(open), Some(close)) = (name.rfind('<'), name.rfind('>'))
        && open < close
    {
        let addr = name[open + 1..close].trim().to_lowercase();
        let display = unfold(name[..open].trim().trim_matches('"').trim());
        return plausible_address(&addr).then(|| (addr, Some(display).filter(|d| !d.is_empty())));
    }
    let bare = name.trim().trim_matches('"').to_lowercase();
    plausible_address(&bare).then_some((bare, None))
}

fn address(
    raw: &[u8],
    msg: &Message<'_>,
    header: &str,
    a: &mail_parser::Addr<'_>,
) -> Option<Address> {
    let direct = a
        .address()
        .map(|x| x.trim().to_lowercase())
        .filter(|x| plausible_address(x));
    let Some(addr) = direct else {
        let (address, name) = address_in_name(a.name()?)?;
        return Some(Address { name, address });
    };
    let mut name = a.name().map(unfold).filter(|n| !n.is_empty());
    if name.as_deref().is_some_and(|n| n.contains('\u{FFFD}'))
        && let Some(bytes) = raw_8bit_header(raw, msg, header)
    {
        // Raw 8-bit display name: take the text before the angle bracket.
        let decoded = charset::decode(bytes, None);
        let before = decoded.split('<').next().unwrap_or_default();
        let n = unfold(before.trim().trim_matches('"'));
        name = (!n.is_empty()).then_some(n);
    }
    Some(Address {
        name,
        address: addr,
    })
}

/// The transfer-decoded bytes of a part, straight from the raw message.
fn part_bytes(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = msg.raw_message.as_ref();
    let body = raw.get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    match part.encoding {
        Encoding::Base64 => base64_decode(body),
        Encoding::QuotedPrintable => quoted_printable_decode(body),
        Encoding::None => Some(body.to_vec()),
    }
}

fn charset_of<'a>(part: &'a MessagePart<'_>) -> Option<&'a str> {
    part.content_type().and_then(|ct| ct.attribute("charset"))
}

/// The text of a text part, re-decoded from its bytes where the label is doubtful.
fn part_text(msg: &Message<'_>, part: &MessagePart<'_>, parsed: &str, html: bool) -> String {
    let label = charset_of(part).map(str::to_owned);
    let doubtful = match label.as_deref().and_then(charset::by_label) {
        None => parsed.contains('\u{FFFD}') || html,
        Some(enc) => {
            enc == encoding_rs::WINDOWS_1251
                || enc == encoding_rs::KOI8_R
                || enc == encoding_rs::ISO_8859_5
                || enc == encoding_rs::WINDOWS_874
                || enc == encoding_rs::IBM866
                || (enc == encoding_rs::UTF_8 && parsed.contains('\u{FFFD}'))
        }
    };
    if !doubtful {
        return parsed.to_owned();
    }
    let Some(bytes) = part_bytes(msg, part) else {
        return parsed.to_owned();
    };
    let label = match label {
        Some(l) => Some(l),
        None if html => charset::html_meta_charset(&bytes),
        None => None,
    };
    let mut s = charset::decode(&bytes, label.as_deref());
    // The raw slice may end with the line break before the next boundary.
    if s.ends_with("\r\n") && !parsed.ends_with('\n') {
        s.truncate(s.len() - 2);
    }
    s
}

/// Line breaks as `\n`, in place: a message's text can be megabytes, and each
/// `replace` would be another copy of it.
fn normalize_newlines(s: String) -> String {
    if !s.contains('\r') {
        return s;
    }
    let mut b = s.into_bytes();
    let (mut w, mut r) = (0, 0);
    while r < b.len() {
        if b[r] == b'\r' {
            b[w] = b'\n';
            r += if b.get(r + 1) == Some(&b'\n') { 2 } else { 1 };
        } else {
            b[w] = b[r];
            r += 1;
        }
        w += 1;
    }
    b.truncate(w);
    // Only ASCII bytes were removed or replaced, so the text is still UTF-8.
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn bodies(msg: &Message<'_>) -> (String, Option<String>) {
    let mut text = String::new();
    let mut html: Option<String> = None;
    for &id in &msg.html_body {
        if let Some(part) = msg.parts.get(id as usize)
            && let PartType::Html(h) = &part.body
        {
            html = Some(part_text(msg, part, h, true));
            break;
        }
    }
    for &id in &msg.text_body {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let chunk = match &part.body {
            PartType::Text(t) => part_text(msg, part, t, false),
            PartType::Html(h) => {
                mail_parser::decoders::html::html_to_text(&part_text(msg, part, h, true))
            }
            _ => continue,
        };
        if text.is_empty() {
            text = chunk;
        } else if !chunk.is_empty() {
            text.push('\n');
            text.push_str(&chunk);
        }
    }
    (normalize_newlines(text), html)
}

/// A file name that is safe to show and to offer for download.
pub fn safe_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// Splits an mbox file into its messages (separator lines `From ` at the start of
/// a line; `>From ` quoting inside bodies is left as it is).
pub fn split_mbox(raw: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        if raw[at..].starts_with(b"From ")
            && (at == 0 || raw[at - 1] == b'\n')
            && next_line_is_header(&raw[at..])
        {
            starts.push(at);
        }
        at = raw[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| at + i + 1);
    }
    if starts.len() < 2 {
        return vec![raw];
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &s) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(raw.len());
        let piece = &raw[s..end];
        if !piece.iter().all(u8::is_ascii_whitespace) {
            out.push(piece);
        }
    }
    out
}

/// An unquoted `From ` line in a body ("From Russia with love") is not a
/// separator: a real one is followed by a header line.
fn next_line_is_header(from_line: &[u8]) -> bool {
    let Some(nl) = from_line.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let next = &from_line[nl + 1..];
    let line = &next[..next.iter().position(|&b| b == b'\n').unwrap_or(next.len())];
    match line.iter().position(|&b| b == b':') {
        Some(colon) => {
            colon > 0
                && line[..colon]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        None => false,
    }
}

fn attachments(msg: &Message<'_>) -> Vec<InboundAttachment> {
    let mut out = Vec::new();
    let mut ids: Vec<u32> = msg.attachments.clone();
    // A message that is one non-text part (a bare file) lists no attachment when
    // its body is empty; keep it so that the declared file is not lost.
    if ids.is_empty()
        && msg.parts.len() == 1
        && msg
            .root_part()
            .content_disposition()
            .is_some_and(|d| d.is_attachment())
    {
        ids.push(0);
    }
    for (n, &id) in ids.iter().enumerate() {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let bytes = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(t) | PartType::Html(t) => t.as_bytes().to_vec(),
            // The nested message's own bytes (its `raw_message` is the whole outer one).
            PartType::Message(_) => part_bytes(msg, part).unwrap_or_default(),
            PartType::Multipart(_) => continue,
        };
        let default_name = match content_type.as_str() {
            "message/rfc822" => format!("message-{}.eml", n + 1),
            "message/delivery-status" => format!("delivery-status-{}.txt", n + 1),
            _ => format!("attachment-{}", n + 1),
        };
        let filename = part
            .attachment_name()
            .map(safe_filename)
            .unwrap_or(default_name);
        let content_id = part.content_id().and_then(clean_id);
        let inline = matches!(part.body, PartType::InlineBinary(_))
            || part.content_disposition().is_some_and(|d| d.is_inline());
        out.push(InboundAttachment {
            filename,
            content_type,
            content_id,
            inline,
            bytes: bytes.into(),
        });
    }
    out
}

fn auto_flags(msg: &Message<'_>, from: Option<&Address>) -> AutoFlags {
    let get = |name: &str| header_plain(msg, name).map(|v| v.trim().to_ascii_lowercase());
    let auto_submitted = get("Auto-Submitted").is_some_and(|v| !v.is_empty() && v != "no")
        || get("X-Autoreply").is_some()
        || get("X-Autorespond").is_some()
        || get("X-Auto-Response-Suppress")
            .is_some_and(|v| v.contains("all") || v.contains("autoreply"))
        || get("X-Loop").is_some();
    let bulk = get("Precedence")
        .is_some_and(|v| matches!(v.as_str(), "bulk" | "list" | "junk" | "auto_reply"))
        || msg.headers().iter().any(|h| {
            h.name().eq_ignore_ascii_case("List-Id")
                || h.name().eq_ignore_ascii_case("List-Unsubscribe")
        });
    let null_sender = get("Return-Path").is_some_and(|v| v == "<>" || v.is_empty());
    let system_sender = null_sender || from.is_some_and(|a| is_system_address(&a.address));
    AutoFlags {
        auto_submitted,
        bulk,
        system_sender,
    }
}

/// No-reply and mail-system addresses, which must never get automatic mail.
pub fn is_system_address(addr: &str) -> bool {
    let local = addr
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or_default();
    let squashed: String = local
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    matches!(
        squashed.as_str(),
        "mailerdaemon"
            | "postmaster"
            | "noreply"
            | "donotreply"
            | "bounce"
            | "bounces"
            | "daemon"
            | "nobody"
    ) || squashed.starts_with("noreply")
        || squashed.starts_with("donotreply")
        || local.starts_with("bounce-")
        || local.starts_with("bounces-")
}

/// Reads a delivery status notification (RFC 3464), or a bounce from a
/// mail-system sender that returns the original message.
fn bounce(msg: &Message<'_>) -> Option<Bounce> {
    let root_ct = msg.root_part().content_type();
    let is_report = root_ct.is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_none_or(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let from_system = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .is_some_and(|a| {
            let l = a.split('@').next().unwrap_or_default().to_ascii_lowercase();
            l == "mailer-daemon" || l == "postmaster"
        });
    let mut status_text: Option<String> = None;
    let mut original_ids = Vec::new();
    for part in &msg.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let full =
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()).to_ascii_lowercase();
        match full.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                let t = match &part.body {
                    PartType::Text(t) | PartType::Html(t) => t.to_string(),
                    PartType::Binary(b) | PartType::InlineBinary(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    // Parsed as a nested message: the per-message fields are its
                    // headers, the per-recipient ones its (possibly encoded) body.
                    PartType::Message(m) => {
                        let mut t =
                            String::from_utf8_lossy(&part_bytes(msg, part).unwrap_or_default())
                                .into_owned();
                        if let Some(body) = m.body_text(0) {
                            t.push('\n');
                            t.push_str(&body);
                        }
                        t
                    }
                    PartType::Multipart(_) => String::new(),
                };
                status_text = Some(t);
            }
            "message/rfc822"
            | "text/rfc822-headers"
            | "message/global"
            | "message/global-headers" => {
                let found = match &part.body {
                    PartType::Message(m) => m.message_id().and_then(clean_id),
                    PartType::Text(t) => message_id_in(t),
                    PartType::Binary(b) | PartType::InlineBinary(b) => {
                        message_id_in(&String::from_utf8_lossy(b))
                    }
                    _ => None,
                };
                original_ids.extend(found);
            }
            _ => {}
        }
    }
    if !is_report && !(from_system && (status_text.is_some() || !original_ids.is_empty())) {
        return None;
    }
    let fields = decode_status_blocks(&status_text.unwrap_or_default());
    let field = |name: &str| {
        fields.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if let Some(id) = field("Original-Message-ID").and_then(|v| clean_id(&v)) {
        original_ids.push(id);
    }
    original_ids.extend(ids(msg.in_reply_to()));
    original_ids.extend(ids(msg.references()));
    original_ids.dedup();
    let status =
        field("Status").map(|s| s.split_whitespace().next().unwrap_or_default().to_owned());
    let action = field("Action").map(|a| a.to_ascii_lowercase());
    if action
        .as_deref()
        .is_some_and(|a| a == "delayed" || a == "delivered" || a == "relayed" || a == "expanded")
    {
        // Not a failure: a delay warning or a success report.
        return None;
    }
    let recipient = field("Final-Recipient")
        .or_else(|| field("Original-Recipient"))
        .map(|r| r.rsplit(';').next().unwrap_or_default().trim().to_owned());
    let diagnostic = field("Diagnostic-Code")
        .map(|d| d.rsplit(';').next().unwrap_or_default().trim().to_owned());
    let permanent = status.as_deref().is_some_and(|s| s.starts_with('5'))
        || action.as_deref() == Some("failed");
    let reason = match (&diagnostic, &status) {
        (Some(d), Some(s)) => format!("{s} {d}"),
        (Some(d), None) => d.clone(),
        (None, Some(s)) => format!("delivery failed with status {s}"),
        (None, None) => "the recipient's mail server reported a delivery failure".into(),
    };
    Some(Bounce {
        original_message_ids: original_ids,
        recipient,
        status,
        reason: reason.chars().take(500).collect(),
        permanent,
    })
}

/// Some MTAs base64-encode the per-recipient block of a DSN and declare it with a
/// `Content-Transfer-Encoding` field in the block before: decode such blocks.
fn decode_status_blocks(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let blocks: Vec<&str> = text.split("\n\n").collect();
    let mut out = String::with_capacity(text.len());
    for (i, b) in blocks.iter().enumerate() {
        let encoded = i > 0
            && blocks[i - 1].lines().any(|l| {
                l.split_once(':').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("Content-Transfer-Encoding")
                        && v.trim().eq_ignore_ascii_case("base64")
                })
            });
        let decoded = encoded
            .then(|| base64_decode(b.trim().as_bytes()))
            .flatten()
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        out.push_str(decoded.as_deref().unwrap_or(b));
        out.push_str("\n\n");
    }
    out
}

fn message_id_in(headers: &str) -> Option<String> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("Message-ID")
            .then(|| clean_id(v))
            .flatten()
    })
}

#[cfg(test)]
mod sender_tests {
    use super::*;

    #[test]
    fn line_breaks_become_newlines_in_place() {
        for (raw, want) in [
            ("a\r\nb\rc\nd", "a\nb\nc\nd"),
            ("\r\r\n\n", "\n\n\n"),
            ("no breaks", "no breaks"),
            ("Где\r\nмой заказ?\r", "Где\nмой заказ?\n"),
            ("", ""),
        ] {
            assert_eq!(normalize_newlines(raw.to_owned()), want, "{raw:?}");
        }
    }

    #[test]
    fn an_address_written_inside_the_name_is_found() {
        assert_eq!(
            address_in_name("Анна Петрова <Anna@Example.com>"),
            Some(("anna@example.com".into(), Some("Анна Петрова".into())))
        );
        assert_eq!(
            address_in_name("\"ivan@example.ru\""),
            Some(("ivan@example.ru".into(), None))
        );
        assert_eq!(address_in_name("Just a name"), None);
        assert_eq!(address_in_name("<not an address>"), None);
        assert!(!plausible_address("a@b@c"));
        assert!(!plausible_address("@b"));
    }

    #[test]
    fn sender_and_return_path_are_read() {
        let raw = b"Sender: Office <office@example.com>\r\nReturn-Path: <Bounce@Example.com>\r\nTo: a@b.example\r\nSubject: s\r\n\r\nx\r\n";
        let e = parse(raw).expect("parse");
        assert!(e.from.is_none());
        assert_eq!(
            e.sender.map(|a| a.address).as_deref(),
            Some("office@example.com")
        );
        assert_eq!(e.envelope_from.as_deref(), Some("bounce@example.com"));
        let null = parse(b"Return-Path: <>\r\nSubject: s\r\n\r\nx\r\n").expect("parse");
        assert_eq!(null.envelope_from, None);
    }
}
