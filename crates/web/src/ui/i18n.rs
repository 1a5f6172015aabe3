//! Interface languages: catalogs from `i18n/*.toml` (compiled in), the choice of
//! language for a request, and locale formatting of numbers and dates.
//!
//! Invariant: every catalog has exactly the keys of the English one (a test checks
//! it, and that every key a template asks for exists).

use axum::http::HeaderMap;
use domain::Timestamp;
use domain::message::{Message, Param};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
    Th,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::Th];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Th => "th",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ru => "Русский",
            Lang::Th => "ไทย",
        }
    }

    /// A language tag's language, if the interface speaks it (`ru-RU` → Russian).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The best supported language of an `Accept-Language` header, by its q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',').take(20) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(l) = Lang::from_tag(tag)
                && q > 0.0
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((l, q));
            }
        }
        best.map(|(l, _)| l)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../i18n/en.toml"),
            Lang::Ru => include_str!("../../i18n/ru.toml"),
            Lang::Th => include_str!("../../i18n/th.toml"),
        }
    }

    /// The engine's messages in this language, keyed by [`Code::key`]; English
    /// has none (the codes carry it).
    fn engine_source(self) -> &'static str {
        match self {
            Lang::En => "",
            Lang::Ru => include_str!("../../i18n/engine.ru.toml"),
            Lang::Th => include_str!("../../i18n/engine.th.toml"),
        }
    }
}

/// The cookie that keeps a person's chosen language.
pub const LANG_COOKIE: &str = "otklik_lang";

type Catalog = HashMap<String, String>;

/// Flattens `[section] key = "text"` into `section.key`.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalog) -> Result<(), String> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(format!("{key}: translations are strings")),
        }
    }
    Ok(())
}

/// Parses one catalog.
pub fn parse_catalog(text: &str) -> Result<Catalog, String> {
    let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    let mut out = Catalog::new();
    flatten("", &table, &mut out)?;
    Ok(out)
}

fn catalogs() -> &'static [Catalog; 3] {
    static CATALOGS: OnceLock<[Catalog; 3]> = OnceLock::new();
    CATALOGS.get_or_init(|| {
        // The catalogs are compiled in and checked by tests; a broken one shows keys.
        Lang::ALL.map(|l| {
            let mut c = parse_catalog(l.source()).unwrap_or_default();
            let engine = parse_catalog(l.engine_source()).unwrap_or_default();
            c.extend(engine.into_iter().map(|(k, v)| (format!("engine.{k}"), v)));
            c
        })
    })
}

/// Translations and formats of one language.
#[derive(Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
    map: &'static Catalog,
    fallback: &'static Catalog,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr").field("lang", &self.lang).finish()
    }
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        let c = catalogs();
        let i = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
        Tr {
            lang,
            map: &c[i],
            fallback: &c[0],
        }
    }

    /// The language for a request: the person's choice (cookie), else the browser's
    /// `Accept-Language`, else `default` (the workspace's language), else English.
    pub fn for_request(headers: &HeaderMap, default: Option<&str>) -> Tr {
        Tr::for_person(headers, None, default)
    }

    /// The language for a signed-in person: this browser's choice (the
    /// switcher's cookie), then the one they keep in their preferences, then
    /// the browser's, then the workspace's.
    pub fn for_person(headers: &HeaderMap, preferred: Option<&str>, default: Option<&str>) -> Tr {
        let chosen = crate::extract::cookie_in(headers, LANG_COOKIE)
            .and_then(Lang::from_tag)
            .or_else(|| preferred.and_then(Lang::from_tag));
        let accepted = || {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        };
        let lang = chosen
            .or_else(accepted)
            .or_else(|| default.and_then(Lang::from_tag))
            .unwrap_or(Lang::En);
        Tr::new(lang)
    }

    /// The text for `key`; the key itself when no catalog has it.
    pub fn t<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.map
            .get(key)
            .or_else(|| self.fallback.get(key))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// Whether the catalog has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key) || self.fallback.contains_key(key)
    }

    /// `t(key)` with `{name}` placeholders filled.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (k, v) in args {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    /// The label of an enum value: `label("status", "open")` reads `status.open`.
    pub fn label(&self, prefix: &str, value: &str) -> String {
        self.t(&format!("{prefix}.{value}")).to_owned()
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    /// An engine message in this language: the catalog's template for its code
    /// (English from the code itself), parameters filled, enumeration values
    /// translated.
    pub fn message(&self, m: &Message) -> String {
        let template = self
            .map
            .get(&format!("engine.{}", m.code.key()))
            .map_or(m.code.english(), String::as_str);
        m.fill(template, |p| match p {
            Param::Text(s) => s.clone(),
            Param::Label(prefix, v) => {
                // Identity kinds other than "external" are named like channels.
                let keys = [format!("{prefix}.{v}"), format!("channel.{v}")];
                let take = if *prefix == "identity" { 2 } else { 1 };
                keys.iter()
                    .take(take)
                    .find(|k| self.has(k))
                    .map_or_else(|| v.clone(), |k| self.t(k).to_owned())
            }
        })
    }

    /// A whole number with the language's digit grouping.
    pub fn num(&self, n: i64) -> String {
        let sep = match self.lang {
            Lang::Ru => '\u{a0}',
            Lang::En | Lang::Th => ',',
        };
        let digits = n.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + 4);
        if n < 0 {
            out.push('-');
        }
        // Russian leaves four-digit numbers ungrouped.
        let group = !(self.lang == Lang::Ru && digits.len() <= 4);
        for (i, c) in digits.chars().enumerate() {
            if group && i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(c);
        }
        out
    }

    /// A length of time, coarse as a glance needs it: `2 d 3 h`, `5 h 10 min`,
    /// `7 min` (at least a minute).
    pub fn span(&self, ms: i64) -> String {
        let mins = (ms.max(0) + 59_999) / 60_000;
        let (d, h, m) = (mins / 1440, mins % 1440 / 60, mins % 60);
        let unit = |key: &str, n: i64| self.tf(key, &[("n", &n.to_string())]);
        match (d, h) {
            (0, 0) => unit("sla.minutes", m.max(1)),
            (0, h) if m == 0 => unit("sla.hours", h),
            (0, h) => format!("{} {}", unit("sla.hours", h), unit("sla.minutes", m)),
            (d, 0) => unit("sla.days", d),
            (d, h) => format!("{} {}", unit("sla.days", d), unit("sla.hours", h)),
        }
    }

    /// A moment as the language writes it, in UTC (the page's script re-renders it
    /// in the workspace's time zone). Thai dates count years in the Buddhist era.
    pub fn date(&self, ts: Timestamp) -> String {
        use chrono::{Datelike, Timelike};
        let Some(d) = chrono::DateTime::from_timestamp_millis(ts.millis()) else {
            return String::new();
        };
        let month_key = format!("month.m{}", d.month());
        let month = self.t(&month_key);
        let (day, year, h, m) = (d.day(), d.year(), d.hour(), d.minute());
        match self.lang {
            Lang::En => format!("{month} {day}, {year}, {h:02}:{m:02} UTC"),
            Lang::Ru => format!("{day} {month} {year} г., {h:02}:{m:02} UTC"),
            Lang::Th => format!("{day} {month} {} {h:02}:{m:02} UTC", year + 543),
        }
    }

    /// The strings the page's script needs, as JSON safe inside a `<script>` element.
    pub fn script_strings(&self) -> String {
        let mut m = serde_json::Map::new();
        for (k, v) in self.map.iter().filter(|(k, _)| k.starts_with("js.")) {
            m.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        serde_json::Value::Object(m)
            .to_string()
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Histories and timelines name each event by `event.{kind}`: a kind
    /// without a name would show its key.
    #[test]
    fn every_event_kind_has_a_name() {
        let en = parse_catalog(Lang::En.source()).expect("en parses");
        let missing: Vec<&str> = domain::event::EventData::KINDS
            .iter()
            .copied()
            .filter(|k| !en.contains_key(&format!("event.{}", k.replace('.', "_"))))
            .collect();
        assert!(missing.is_empty(), "no name for {missing:?}");
    }

    #[test]
    fn every_catalog_parses_and_has_exactly_the_english_keys() {
        let en: BTreeSet<String> = parse_catalog(Lang::En.source())
            .expect("en parses")
            .into_keys()
            .collect();
        assert!(en.len() > 150, "{} keys", en.len());
        for l in [Lang::Ru, Lang::Th] {
            let c = parse_catalog(l.source()).expect("parses");
            let keys: BTreeSet<String> = c.keys().cloned().collect();
            let missing: Vec<_> = en.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&en).collect();
            assert!(missing.is_empty(), "{}: missing {missing:?}", l.code());
            assert!(extra.is_empty(), "{}: unknown {extra:?}", l.code());
            let untranslated: Vec<_> = c
                .iter()
                .filter(|(k, v)| {
                    v.trim().is_empty()
                        || (k.len() > 12
                            && Tr::new(Lang::En).t(k) == v.as_str()
                            && !k.starts_with("lang."))
                })
                .map(|(k, _)| k.clone())
                .collect();
            assert!(
                untranslated.len() < 8,
                "{}: left in English or empty: {untranslated:?}",
                l.code()
            );
        }
    }

    #[test]
    fn every_key_the_templates_and_code_use_exists() {
        let en = parse_catalog(Lang::En.source()).expect("en parses");
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut sources = Vec::new();
        for e in std::fs::read_dir(dir).expect("templates") {
            let p = e.expect("entry").path();
            sources.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            ));
        }
        let src_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/ui");
        for e in std::fs::read_dir(src_dir).expect("src") {
            let p = e.expect("entry").path();
            sources.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            ));
        }
        let js = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/app.js");
        sources.push((js.into(), std::fs::read_to_string(js).expect("js")));
        let mut checked = 0;
        for (name, text) in &sources {
            for pat in [".t(\"", ".tf(\"", " L(\"", "(L(\""] {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    // Keys built at run time end in a dot ("status." + value).
                    if key.ends_with('.') || key.is_empty() {
                        continue;
                    }
                    checked += 1;
                    assert!(en.contains_key(key), "{name}: unknown key {key:?}");
                }
            }
        }
        assert!(checked > 100, "only {checked} keys found in use");
    }

    #[test]
    fn every_engine_message_code_reads_in_each_language_with_its_parameters() {
        use domain::message::{Code, placeholders};
        let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.key()).collect();
        assert_eq!(codes.len(), Code::ALL.len(), "two codes share a key");
        for l in [Lang::Ru, Lang::Th] {
            let c = parse_catalog(l.engine_source()).expect("parses");
            let keys: BTreeSet<&str> = c.keys().map(String::as_str).collect();
            let missing: Vec<_> = codes.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&codes).collect();
            assert!(
                missing.is_empty(),
                "{}: no translation for {missing:?}",
                l.code()
            );
            assert!(extra.is_empty(), "{}: no such code {extra:?}", l.code());
            let tr = Tr::new(l);
            for code in Code::ALL {
                let text = &c[code.key()];
                let mut want = placeholders(code.english());
                let mut got = placeholders(text);
                want.sort_unstable();
                got.sort_unstable();
                assert_eq!(
                    got,
                    want,
                    "{}: {} has other placeholders",
                    l.code(),
                    code.key()
                );
                if *code != Code::Verbatim {
                    assert_ne!(
                        text,
                        code.english(),
                        "{}: {} is English",
                        l.code(),
                        code.key()
                    );
                }
                // Rendered through the page path, every placeholder is filled.
                let mut m = Message::new(*code);
                for name in placeholders(code.english()) {
                    m = m.with(name, "7");
                }
                let shown = tr.message(&m);
                assert!(
                    !shown.contains("{"),
                    "{}: {} shows {shown:?}",
                    l.code(),
                    code.key()
                );
                assert!(!shown.contains("engine."), "{}: {shown}", l.code());
            }
        }
        // English pages read the codes' own words.
        let m = Message::new(Code::Transition)
            .label("from", "status", "closed")
            .label("to", "status", "open");
        assert_eq!(
            Tr::new(Lang::En).message(&m),
            "a ticket cannot go from Closed to Open"
        );
        assert_eq!(
            Tr::new(Lang::Ru).message(&m),
            "заявку нельзя перевести из статуса «Закрыта» в «Открыта»"
        );
    }

    #[test]
    fn every_value_an_engine_message_names_is_translated() {
        // The enumeration values the engine puts into messages, as written at
        // the call sites: `no_such("team")`, `.label("x", "prefix", "value")`,
        // and the channel kinds a second connection is refused for.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut labels: Vec<(String, String)> = Vec::new();
        let mut stack = vec![format!("{root}/engine/src"), format!("{root}/domain/src")];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).expect("dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p.display().to_string());
                    continue;
                }
                let text = std::fs::read_to_string(&p).expect("read");
                for (i, _) in text.match_indices("no_such(\"") {
                    let rest = &text[i + 9..];
                    let v = &rest[..rest.find('"').expect("closed")];
                    labels.push(("thing".into(), v.into()));
                }
                for (i, _) in text.match_indices("const TAKEN: &str = \"") {
                    let rest = &text[i + 21..];
                    let v = &rest[..rest.find('"').expect("closed")];
                    labels.push(("thing".into(), v.into()));
                }
                for (i, _) in text.match_indices(".label(\"") {
                    let args: Vec<&str> = text[i + 7..]
                        .split(')')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .collect();
                    if let [_, prefix, value] = args.as_slice()
                        && let (Some(prefix), Some(value)) = (
                            prefix
                                .trim()
                                .strip_prefix('"')
                                .and_then(|s| s.strip_suffix('"')),
                            value
                                .trim()
                                .strip_prefix('"')
                                .and_then(|s| s.strip_suffix('"')),
                        )
                    {
                        labels.push((prefix.into(), value.into()));
                    }
                }
            }
        }
        assert!(labels.len() > 15, "only {} values found", labels.len());
        for l in Lang::ALL {
            let tr = Tr::new(l);
            for (prefix, value) in &labels {
                let key = format!("{prefix}.{value}");
                assert!(tr.map.contains_key(&key), "{}: no {key}", l.code());
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(
            Lang::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"),
            Some(Lang::Ru)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE,th;q=0.5,en;q=0.4"),
            Some(Lang::Th)
        );
        assert_eq!(
            Lang::from_accept_language("en;q=0.2, ru;q=0.7"),
            Some(Lang::Ru)
        );
        assert_eq!(Lang::from_accept_language("de, fr;q=0.5"), None);
        assert_eq!(Lang::from_accept_language("ru;q=0"), None);
    }

    #[test]
    fn numbers_and_dates_follow_the_language() {
        assert_eq!(Tr::new(Lang::En).num(1_234_567), "1,234,567");
        assert_eq!(Tr::new(Lang::Ru).num(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(Tr::new(Lang::Ru).num(1234), "1234");
        assert_eq!(Tr::new(Lang::Th).num(-10_000), "-10,000");
        let ts = Timestamp::from_millis(1_795_435_500_000); // 2026-11-23 12:05 UTC
        assert_eq!(Tr::new(Lang::En).date(ts), "Nov 23, 2026, 12:05 UTC");
        assert_eq!(Tr::new(Lang::Ru).date(ts), "23 нояб. 2026 г., 12:05 UTC");
        assert_eq!(Tr::new(Lang::Th).date(ts), "23 พ.ย. 2569 12:05 UTC");
    }

    #[test]
    fn script_strings_cannot_close_the_script_element() {
        let s = Tr::new(Lang::En).script_strings();
        assert!(!s.contains('<') && s.contains("js."), "{s}");
    }
}
