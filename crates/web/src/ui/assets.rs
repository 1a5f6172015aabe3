//! Static assets compiled into the binary: one stylesheet, one script, and the
//! Noto Sans fonts (Latin, Cyrillic, Thai; SIL Open Font License, from the
//! `@fontsource` packages) so every language renders the same on every machine.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! font {
    ($name:literal) => {
        Asset {
            name: $name,
            content_type: "font/woff2",
            bytes: include_bytes!(concat!("../../assets/fonts/", $name)),
        }
    };
}

/// Every asset the UI serves.
pub static ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/app.css"),
    },
    Asset {
        name: "help.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/help.css"),
    },
    Asset {
        name: "help.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/help.js"),
    },
    Asset {
        name: "chat.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/chat.js"),
    },
    Asset {
        name: "chat.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/chat.css"),
    },
    Asset {
        name: "chat-loader.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/chat-loader.js"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/app.js"),
    },
    font!("noto-sans-latin-400-normal.woff2"),
    font!("noto-sans-latin-600-normal.woff2"),
    font!("noto-sans-cyrillic-400-normal.woff2"),
    font!("noto-sans-cyrillic-600-normal.woff2"),
    font!("noto-sans-thai-thai-400-normal.woff2"),
    font!("noto-sans-thai-thai-600-normal.woff2"),
];

/// Bytes of script and style the named assets ship (fonts aside).
pub fn code_bytes(names: &[&str]) -> usize {
    ASSETS
        .iter()
        .filter(|a| names.contains(&a.name) && !a.content_type.starts_with("font/"))
        .map(|a| a.bytes.len())
        .sum()
}

/// What the agent workspace's pages load: one stylesheet, one script.
pub const WORKSPACE: &[&str] = &["app.css", "app.js"];
/// What the public help center loads.
pub const HELP_CENTER: &[&str] = &["help.css", "help.js"];
/// What a shop's page loads for the chat widget (the loader, then the frame).
pub const CHAT_WIDGET: &[&str] = &["chat-loader.js", "chat.css", "chat.js"];

/// The URL of an asset, versioned by its content so browsers may cache it forever.
pub fn url(name: &str) -> &'static str {
    static URLS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let h = Sha256::digest(a.bytes);
                let v: String = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
                (a.name, format!("/assets/{}?v={v}", a.name))
            })
            .collect()
    });
    urls.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| u.as_str())
        .unwrap_or("/assets/missing")
}

pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = a.bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_and_style_stay_within_budget_and_every_asset_has_a_versioned_url() {
        // The agent workspace ships under 60 KB of script and style before
        // compression; what a site loads for chat stays under 30 KB (about
        // 9 KB gzipped).
        let workspace = code_bytes(WORKSPACE);
        assert!(workspace > 0 && workspace < 60 * 1024, "{workspace} bytes");
        let widget = code_bytes(CHAT_WIDGET);
        assert!(widget > 0 && widget < 30 * 1024, "{widget} bytes");
        assert!(code_bytes(HELP_CENTER) > 0);
        for a in ASSETS {
            assert!(!a.bytes.is_empty(), "{}", a.name);
            assert!(url(a.name).starts_with(&format!("/assets/{}?v=", a.name)));
        }
        // Every font the stylesheet names is served.
        let css = std::str::from_utf8(ASSETS[0].bytes).expect("utf-8");
        for (i, _) in css.match_indices("url(/assets/") {
            let name = &css[i + 12..];
            let name = &name[..name.find(')').expect("closing paren")];
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "{name} is not embedded"
            );
        }
    }
}
