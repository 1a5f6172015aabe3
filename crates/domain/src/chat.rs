//! Live chat's vocabulary: how a widget is configured, and the rules its input
//! follows (origins a widget may run on, pre-chat fields).

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::message;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most sites one widget may be embedded on.
pub const MAX_ORIGINS: usize = 20;
/// Most characters of a greeting.
pub const MAX_GREETING: usize = 500;
/// Most characters of one chat message.
pub const MAX_MESSAGE: usize = 10_000;

/// What a pre-chat form may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrechatKind {
    Name,
    Email,
    Phone,
}

impl PrechatKind {
    pub const ALL: [PrechatKind; 3] = [PrechatKind::Name, PrechatKind::Email, PrechatKind::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            PrechatKind::Name => "name",
            PrechatKind::Email => "email",
            PrechatKind::Phone => "phone",
        }
    }
}

/// One field of the pre-chat form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrechatField {
    pub field: PrechatKind,
    pub required: bool,
}

/// How a widget looks and behaves; the admin sets it, the widget reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSettings {
    /// Sites (`scheme://host[:port]`) the widget may run on; empty: any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// `#rrggbb`.
    #[serde(default = "default_color")]
    pub color: String,
    /// The first words a visitor reads, per language (`ru`, `en`, `th` …).
    #[serde(default)]
    pub greeting: BTreeMap<String, String>,
    /// Asked before the first message; empty: no form.
    #[serde(default)]
    pub prechat: Vec<PrechatField>,
    /// When no agent is online, ask for an email address so that the answer
    /// can follow by email.
    #[serde(default = "yes")]
    pub offline_email: bool,
    /// New conversations go to this team's queue (and its routing).
    #[serde(default)]
    pub team_id: Option<crate::ids::TeamId>,
}

fn default_color() -> String {
    "#1f6feb".into()
}

fn yes() -> bool {
    true
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            allowed_origins: Vec::new(),
            color: default_color(),
            greeting: BTreeMap::new(),
            prechat: Vec::new(),
            offline_email: true,
            team_id: None,
        }
    }
}

impl WidgetSettings {
    /// The settings with origins, colour, greetings and fields checked and
    /// normalised.
    pub fn validated(mut self) -> Result<Self, DomainError> {
        if self.allowed_origins.len() > MAX_ORIGINS {
            return Err(DomainError::invalid(
                "allowed_origins",
                Message::new(Code::AtMostSites).with("max_origins", MAX_ORIGINS),
            ));
        }
        let mut origins = Vec::with_capacity(self.allowed_origins.len());
        for o in &self.allowed_origins {
            let o = normalize_origin(o)?;
            if !origins.contains(&o) {
                origins.push(o);
            }
        }
        self.allowed_origins = origins;
        if self.color.chars().count() > 40 {
            return Err(DomainError::invalid("color", Code::Color));
        }
        let c = self.color.trim().to_ascii_lowercase();
        if !(c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(DomainError::invalid("color", Code::Color));
        }
        self.color = c;
        if self.greeting.len() > crate::kb::MAX_LANGUAGES {
            return Err(DomainError::invalid(
                "greeting",
                Code::AtMostTwentyLanguages,
            ));
        }
        let mut greeting = BTreeMap::new();
        for (lang, text) in std::mem::take(&mut self.greeting) {
            let lang = crate::identity::normalize_language(&lang)?;
            // Counted as sent, as the schema counts it: cleaning must not let a
            // longer text through.
            if text.chars().count() > MAX_GREETING {
                return Err(DomainError::invalid(
                    "greeting",
                    message::max_chars(MAX_GREETING),
                ));
            }
            let text = crate::text::clean_body(text.trim());
            if !text.is_empty() {
                greeting.insert(lang, text);
            }
        }
        self.greeting = greeting;
        if self.prechat.len() > PrechatKind::ALL.len() {
            return Err(DomainError::invalid("prechat", Code::PrechatAtMostThree));
        }
        // A field listed twice is asked once, as first listed.
        let mut fields: Vec<PrechatField> = Vec::new();
        for f in &self.prechat {
            if !fields.iter().any(|x| x.field == f.field) {
                fields.push(*f);
            }
        }
        self.prechat = fields;
        Ok(self)
    }

    /// Whether a page of `origin` may use the widget.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        match origin.and_then(|o| normalize_origin(o).ok()) {
            Some(o) => self.allowed_origins.contains(&o),
            // Not a browser (an app, a server): the origin check is the
            // browser's; visitor tokens still hold.
            None => origin.is_none(),
        }
    }
}

/// Most characters of an allowed origin as given.
pub const MAX_ORIGIN: usize = 260;

/// `https://Shop.Example:443/` → `https://shop.example`: scheme and host lower
/// case, the scheme's own port dropped, one trailing `/` allowed and dropped.
/// A host is letters, digits, `.` and `-` (a name or an IPv4 address); a port
/// is 0 to 65535 without leading zeros. Nothing else (a path, a user) is an
/// origin.
pub fn normalize_origin(raw: &str) -> Result<String, DomainError> {
    let bad = || {
        DomainError::invalid(
            "allowed_origins",
            Message::new(Code::SiteAddress).with("raw", format!("{:?}", raw)),
        )
    };
    if raw.chars().count() > MAX_ORIGIN {
        return Err(bad());
    }
    let s = raw.trim().to_ascii_lowercase();
    let (scheme, rest) = if let Some(r) = s.strip_prefix("https://") {
        ("https", r)
    } else if let Some(r) = s.strip_prefix("http://") {
        ("http", r)
    } else {
        return Err(bad());
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if !host_ok {
        return Err(bad());
    }
    // 0 to 65535, without leading zeros.
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'))
            && p.parse::<u32>().is_ok_and(|n| n <= 65_535)
    });
    if !port_ok {
        return Err(bad());
    }
    let default = matches!(
        (scheme, port),
        ("http", Some("80")) | ("https", Some("443"))
    );
    Ok(match port {
        Some(p) if !default => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_checked() {
        assert_eq!(
            normalize_origin(" HTTPS://Shop.Example:443/ ")
                .ok()
                .as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:8081").ok().as_deref(),
            Some("http://127.0.0.1:8081")
        );
        for bad in [
            "https://x//",
            "https://[::1]",
            "https://x:65536",
            "https://x:080",
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/path",
            "https://a@b",
            "https://:80",
            "https://x:port",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_widget_runs_only_where_it_is_allowed() {
        let s = WidgetSettings {
            allowed_origins: vec![
                "https://Shop.example/".into(),
                "https://shop.example".into(),
            ],
            ..WidgetSettings::default()
        }
        .validated()
        .expect("valid");
        assert_eq!(s.allowed_origins, vec!["https://shop.example"]);
        assert!(s.allows(Some("https://shop.example")));
        assert!(!s.allows(Some("https://evil.example")));
        assert!(!s.allows(Some("null")));
        assert!(s.allows(None));
        assert!(WidgetSettings::default().allows(Some("https://any.example")));
    }

    #[test]
    fn settings_are_validated() {
        let twice = WidgetSettings {
            prechat: vec![
                PrechatField {
                    field: PrechatKind::Email,
                    required: true,
                },
                PrechatField {
                    field: PrechatKind::Email,
                    required: false,
                },
            ],
            ..WidgetSettings::default()
        };
        assert_eq!(twice.validated().expect("valid").prechat.len(), 1);
        let colour = WidgetSettings {
            color: "blue".into(),
            ..WidgetSettings::default()
        };
        assert!(colour.validated().is_err());
        let mut greeting = BTreeMap::new();
        greeting.insert("RU".to_owned(), " Здравствуйте! ".to_owned());
        greeting.insert("en".to_owned(), "  ".to_owned());
        let s = WidgetSettings {
            greeting,
            ..WidgetSettings::default()
        }
        .validated()
        .expect("valid");
        assert_eq!(
            s.greeting.get("ru").map(String::as_str),
            Some("Здравствуйте!")
        );
        assert!(!s.greeting.contains_key("en"));
    }
}
