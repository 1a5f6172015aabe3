//! Articles are Markdown. Readers get it as sanitised HTML (ammonia after
//! pulldown-cmark: no script, no event handlers, links that cannot run code),
//! the index gets its words. A line holding only a YouTube or Vimeo address
//! becomes an embedded player, as help centers do; no other frame is allowed.

use domain::ids::AttachmentId;
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

/// Text safe inside HTML, attribute values included.
pub(crate) fn escape_attr(s: &str) -> String {
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

/// The HTML of an agent's reply written with the composer's formatting
/// (Markdown: bold, italics, lists, links, quotes, code, inline images), or
/// `None` when the text uses none of it, so that plain replies stay plain.
/// Line breaks are kept as typed; raw HTML in the text is shown as text.
/// `![name](attachment:file)` shows the message's own attachment `file`
/// (`files`: its name as chosen and its id) from `/api/v1/attachments/{id}`,
/// which the email sender turns into an inline part; with `preview`, a file
/// not uploaded yet becomes `<img data-file="file">` for the page to fill in,
/// otherwise it is left out. Other images become links.
pub fn reply_html(text: &str, files: &[(String, AttachmentId)], preview: bool) -> Option<String> {
    use pulldown_cmark::{CowStr, Tag};
    let mut formatted = false;
    let mut in_image: Option<String> = None;
    let mut events = Vec::new();
    let opts = Options::ENABLE_STRIKETHROUGH;
    for e in Parser::new_ext(text, opts) {
        match e {
            Event::Start(Tag::Image { dest_url, .. }) => {
                formatted = true;
                in_image = Some(dest_url.to_string());
            }
            Event::End(TagEnd::Image) => {
                let Some(url) = in_image.take() else { continue };
                let alt = match events.pop() {
                    Some(Event::Text(t)) => t.to_string(),
                    Some(other) => {
                        events.push(other);
                        String::new()
                    }
                    None => String::new(),
                };
                let img = match url.strip_prefix("attachment:") {
                    Some(name) => match files.iter().find(|(n, _)| n == name) {
                        Some((_, id)) => format!(
                            "<img src=\"/api/v1/attachments/{id}\" alt=\"{}\">",
                            escape_attr(&alt)
                        ),
                        None if preview => format!(
                            "<img data-file=\"{}\" alt=\"{}\">",
                            escape_attr(name),
                            escape_attr(&alt)
                        ),
                        None => String::new(),
                    },
                    None => format!(
                        "<a href=\"{}\">{}</a>",
                        escape_attr(&url),
                        escape_attr(if alt.is_empty() { &url } else { &alt })
                    ),
                };
                events.push(Event::InlineHtml(CowStr::from(img)));
            }
            Event::SoftBreak => events.push(Event::HardBreak),
            // What the person typed as HTML is text, not markup.
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(t) => {
                formatted |= !matches!(t, Tag::Paragraph);
                events.push(Event::Start(t));
            }
            Event::Code(c) => {
                formatted = true;
                events.push(Event::Code(c));
            }
            other => events.push(other),
        }
    }
    if !formatted {
        return None;
    }
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    Some(reply_sanitizer().clean(&out).to_string())
}

fn reply_sanitizer() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_tag_attributes("img", ["data-file"])
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            // Images are the message's own files only; anything else could
            // fetch from elsewhere when the reply is read.
            ("img", "src") => value
                .starts_with("/api/v1/attachments/")
                .then(|| value.into()),
            _ => Some(value.into()),
        })
        .link_rel(Some("noopener noreferrer nofollow"))
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
    fn replies_are_formatted_only_when_written_so() {
        assert_eq!(
            reply_html("Здравствуйте!\nЗаказ 1042 в пути.", &[], false),
            None
        );
        assert_eq!(reply_html("Order #1042, 3 * 2 = 6 <b>", &[], false), None);
        let id = AttachmentId::new();
        let html = reply_html(
            "**Важно:** проверьте\nпочту.\n\n- один\n- [два](https://shop.example/a?b=1&c=2)\n\n![скрин](attachment:screen.png) ![нет](attachment:gone.png) ![чужая](https://evil.example/x.png)\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))",
            &[("screen.png".into(), id)],
            false,
        )
        .expect("formatted");
        assert!(html.contains("<strong>Важно:</strong>"), "{html}");
        assert!(
            html.contains("проверьте<br>"),
            "line breaks are kept: {html}"
        );
        assert!(html.contains("<li>один</li>"), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
        assert!(
            html.contains(&format!("src=\"/api/v1/attachments/{id}\"")),
            "{html}"
        );
        assert!(!html.contains("gone.png"), "{html}");
        assert!(!html.contains("<img src=\"https://evil"), "{html}");
        assert!(
            html.contains("href=\"https://evil.example/x.png\""),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;"),
            "typed HTML is text: {html}"
        );
        assert!(!html.contains("href=\"javascript"), "{html}");
        let preview = reply_html("![a](attachment:new.png)", &[], true).unwrap_or_default();
        assert!(preview.contains("data-file=\"new.png\""), "{preview}");
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
