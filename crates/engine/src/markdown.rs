//! Articles are Markdown. Readers get it as sanitised HTML (ammonia after
//! pulldown-cmark: no script, no event handlers, links that cannot run code),
//! the index gets its words. A line holding only a YouTube or Vimeo address
//! becomes an embedded player, as help centers do; no other frame is allowed.

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};
use std::collections::HashSet;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// The player address for a video page address, when it is one we embed.
pub fn video_embed(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let id_ok = |id: &str| {
        !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if let Some(q) = rest.strip_prefix("youtube.com/watch?") {
        let id = q.split('&').find_map(|kv| kv.strip_prefix("v="))?;
        return id_ok(id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"));
    }
    if let Some(id) = rest.strip_prefix("youtu.be/") {
        let id = id.split(['?', '#']).next().unwrap_or_default();
        return id_ok(id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"));
    }
    if let Some(id) = rest.strip_prefix("vimeo.com/") {
        let ok = !id.is_empty() && id.len() <= 12 && id.bytes().all(|b| b.is_ascii_digit());
        return ok.then(|| format!("https://player.vimeo.com/video/{id}"));
    }
    None
}

/// Sanitised HTML for readers. `title` names embedded players for screen readers.
pub fn to_html(md: &str, title: &str) -> String {
    let mut out = String::with_capacity(md.len() * 3 / 2);
    // Video lines are paragraphs of their own; they are rendered between the
    // Markdown around them so that nothing in the text can forge a frame.
    let mut chunk = String::new();
    let flush = |chunk: &mut String, out: &mut String| {
        if !chunk.is_empty() {
            html::push_html(out, Parser::new_ext(chunk, options()));
            chunk.clear();
        }
    };
    for line in md.lines() {
        match video_embed(line) {
            Some(src) if line.trim() == line.trim_start() => {
                flush(&mut chunk, &mut out);
                out.push_str(&format!(
                    "<div class=\"video\"><iframe src=\"{src}\" title=\"{}\" loading=\"lazy\" allowfullscreen></iframe></div>\n",
                    escape_attr(title)
                ));
            }
            _ => {
                chunk.push_str(line);
                chunk.push('\n');
            }
        }
    }
    flush(&mut chunk, &mut out);
    sanitizer().clean(&out).to_string()
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_tags(["iframe", "div"])
        .add_tag_attributes("iframe", ["src", "title", "loading", "allowfullscreen"])
        .add_tag_attributes("div", ["class"])
        .add_tag_attributes("img", ["loading"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("iframe", "src") => {
                let allowed = value.starts_with("https://www.youtube-nocookie.com/embed/")
                    || value.starts_with("https://player.vimeo.com/video/");
                allowed.then(|| value.into())
            }
            ("div", "class") => (value == "video").then(|| value.into()),
            _ => Some(value.into()),
        })
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel"]));
    b
}

/// The words of an article as readers see them, for the index and snippets:
/// no markup, link addresses and image files left out, image descriptions kept.
pub fn to_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    for e in Parser::new_ext(md, options()) {
        match e {
            Event::Text(t) if video_embed(&t).is_none() => out.push_str(&t),
            Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_)
                | TagEnd::CodeBlock,
            ) => out.push('\n'),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_what_could_run_is_removed() {
        let html = to_html(
            "## Шаги\n\n1. **Откройте** [заказы](/account/orders)\n\n<script>alert(1)</script>\n[x](javascript:alert(1))\n<img src=x onerror=alert(1)>",
            "t",
        );
        assert!(html.contains("<h2>Шаги</h2>"), "{html}");
        assert!(html.contains("<strong>Откройте</strong>"), "{html}");
        assert!(html.contains("href=\"/account/orders\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }

    #[test]
    fn only_known_video_addresses_become_players() {
        let html = to_html(
            "Watch:\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\n\n<iframe src=\"https://evil.example/\"></iframe>",
            "How to \"pair\"",
        );
        assert!(
            html.contains("src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\""),
            "{html}"
        );
        assert!(html.contains("title=\"How to &quot;pair&quot;\""), "{html}");
        assert!(!html.contains("evil.example"), "{html}");
        assert_eq!(
            video_embed("https://vimeo.com/76979871").as_deref(),
            Some("https://player.vimeo.com/video/76979871")
        );
        assert_eq!(video_embed("https://youtube.com/watch?v=a\"b"), None);
        assert_eq!(video_embed("https://example.com/watch?v=abc"), None);
    }

    #[test]
    fn text_keeps_words_and_drops_markup() {
        let t = to_text(
            "# Title\n\n![Где номер](/help/demo/media/x.png)\n\n- **один** [два](https://x.example)\n\nhttps://youtu.be/abc",
        );
        assert_eq!(t, "Title\nГде номер\nодин два");
    }
}
