//! VK Callback API and the methods a community calls: events read into what
//! the inbox needs, `messages.send`, photo and document uploads, downloads,
//! over HTTP with bounded time and size. <https://dev.vk.com/en/api/callback/getting-started>

use engine::ingest::RemoteFile;
use engine::messenger::{LinkButton, OutFile, RemoteError};
use engine::vk::{API_VERSION, Community, Event, GroupInfo, Received, VkApi, fetchable};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// The whole exchange with VK, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest callback a webhook accepts.
pub const MAX_CALLBACK: usize = 1024 * 1024;
/// Private conversations have peer ids below this; group chats above.
const CHAT_PEER: i64 = 2_000_000_000;

/// A callback as VK posts it.
#[derive(Debug, Deserialize)]
pub struct Callback {
    #[serde(rename = "type")]
    pub kind: String,
    pub group_id: Option<i64>,
    pub secret: Option<String>,
    #[serde(default)]
    pub object: Value,
}

fn content_type(ext: &str) -> &'static str {
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// What a callback brings: VK's confirmation request, a person's private
/// message, or something not for the inbox.
pub fn read(cb: &Callback) -> Event {
    match cb.kind.as_str() {
        "confirmation" => return Event::Confirmation,
        "message_new" => {}
        _ => return Event::Other,
    }
    // Since API 5.103 the message sits under `object.message`.
    let m = if cb.object.get("message").is_some() {
        &cb.object["message"]
    } else {
        &cb.object
    };
    let (Some(from), Some(peer), Some(id)) = (
        m["from_id"].as_i64(),
        m["peer_id"].as_i64(),
        m["id"].as_i64(),
    ) else {
        return Event::Other;
    };
    // Group chats, communities and our own messages are not customers writing.
    if peer >= CHAT_PEER || from <= 0 || m["out"].as_i64() == Some(1) {
        return Event::Other;
    }
    let mut text = m["text"].as_str().unwrap_or_default().to_owned();
    let mut more = Vec::new();
    let mut files = Vec::new();
    for a in m["attachments"].as_array().into_iter().flatten() {
        let kind = a["type"].as_str().unwrap_or_default();
        let o = &a[kind];
        match kind {
            "photo" => {
                let best = o["sizes"].as_array().and_then(|s| {
                    s.iter().max_by_key(|x| {
                        x["width"].as_i64().unwrap_or(0) * x["height"].as_i64().unwrap_or(0)
                    })
                });
                if let Some(url) = best.and_then(|b| b["url"].as_str()) {
                    files.push(RemoteFile {
                        file_id: url.to_owned(),
                        filename: format!("photo-{}.jpg", o["id"].as_i64().unwrap_or(id)),
                        content_type: "image/jpeg".into(),
                        size: None,
                    });
                }
            }
            "doc" => {
                if let Some(url) = o["url"].as_str() {
                    let ext = o["ext"].as_str().unwrap_or_default();
                    let title = o["title"].as_str().unwrap_or("document");
                    let filename = if ext.is_empty() || title.ends_with(&format!(".{ext}")) {
                        title.to_owned()
                    } else {
                        format!("{title}.{ext}")
                    };
                    files.push(RemoteFile {
                        file_id: url.to_owned(),
                        filename,
                        content_type: content_type(ext).into(),
                        size: o["size"].as_i64(),
                    });
                }
            }
            "audio_message" => {
                if let Some(url) = o["link_ogg"].as_str() {
                    files.push(RemoteFile {
                        file_id: url.to_owned(),
                        filename: format!("voice-{id}.ogg"),
                        content_type: "audio/ogg".into(),
                        size: None,
                    });
                }
            }
            "sticker" => more.push("[стикер]".to_owned()),
            "video" => more.push(format!(
                "https://vk.com/video{}_{}",
                o["owner_id"].as_i64().unwrap_or_default(),
                o["id"].as_i64().unwrap_or_default()
            )),
            "wall" => more.push(format!(
                "https://vk.com/wall{}_{}",
                o["from_id"]
                    .as_i64()
                    .or(o["owner_id"].as_i64())
                    .unwrap_or_default(),
                o["id"].as_i64().unwrap_or_default()
            )),
            "link" => {
                if let Some(u) = o["url"].as_str() {
                    more.push(u.to_owned());
                }
            }
            other => more.push(format!("[{other}]")),
        }
    }
    if !more.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&more.join("\n"));
    }
    Event::Message(Received {
        from_id: from,
        peer_id: peer,
        id,
        date: m["date"].as_i64().unwrap_or_default(),
        text,
        files,
    })
}

fn passing(description: impl Into<String>) -> RemoteError {
    RemoteError {
        retry_after: None,
        permanent: false,
        description: description.into(),
    }
}

/// An inline keyboard of link buttons. An `open_link` button takes a row of
/// its own, and an inline keyboard has at most six rows.
/// <https://dev.vk.com/en/api/bots/development/keyboard>
fn keyboard(buttons: &[LinkButton]) -> Value {
    serde_json::json!({
        "inline": true,
        "buttons": buttons.iter().take(6).map(|b| serde_json::json!([{
            "action": {"type": "open_link", "link": b.url, "label": b.label}
        }])).collect::<Vec<_>>()
    })
}

/// VK's API over HTTP, for the engine.
#[derive(Clone, Debug)]
pub struct VkClient {
    http: reqwest::Client,
}

impl VkClient {
    pub fn new() -> Result<VkClient, RemoteError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| passing(format!("no HTTP client: {e}")))?;
        Ok(VkClient { http })
    }

    /// Reads an answer: `{response}` or `{error: {error_code, error_msg}}`.
    async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Result<Value, RemoteError> {
        let res = res.map_err(|e| {
            passing(if e.is_timeout() {
                format!("VK did not answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("VK could not be reached: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|e| passing(format!("VK answered {status} without JSON: {e}")))?;
        if let Some(e) = body.get("error") {
            let code = e["error_code"].as_i64().unwrap_or_default();
            // 6: too many requests per second; 9: flood control; 1 and 10: VK's own trouble.
            let (retry_after, permanent) = match code {
                6 => (Some(1), false),
                9 => (Some(60), false),
                1 | 10 => (None, false),
                _ => (None, true),
            };
            return Err(RemoteError {
                retry_after,
                permanent,
                description: format!(
                    "VK: {} ({code})",
                    e["error_msg"].as_str().unwrap_or("refused")
                ),
            });
        }
        if !status.is_success() {
            return Err(passing(format!("VK answered {status}")));
        }
        // Upload servers answer without the `response` wrapper.
        Ok(body.get("response").cloned().unwrap_or(body))
    }

    async fn call(
        &self,
        c: &Community<'_>,
        method: &str,
        params: &[(&str, String)],
    ) -> Result<Value, RemoteError> {
        let mut form: Vec<(&str, String)> = params.to_vec();
        form.push(("access_token", c.token.to_owned()));
        form.push(("v", API_VERSION.to_owned()));
        Self::answer(
            self.http
                .post(format!("{}/{method}", c.base.trim_end_matches('/')))
                .form(&form)
                .send()
                .await,
        )
        .await
    }

    async fn upload_to(
        &self,
        c: &Community<'_>,
        url: &str,
        field: &str,
        file: &OutFile,
    ) -> Result<Value, RemoteError> {
        if !fetchable(url, c.base) {
            return Err(RemoteError {
                retry_after: None,
                permanent: true,
                description: "VK named an upload server outside its own hosts".into(),
            });
        }
        let part = || {
            reqwest::multipart::Part::stream(file.bytes.clone()).file_name(file.filename.clone())
        };
        let part = part()
            .mime_str(&file.content_type)
            .or_else(|_| part().mime_str("application/octet-stream"))
            .map_err(|e| passing(format!("content type: {e}")))?;
        Self::answer(
            self.http
                .post(url)
                .multipart(reqwest::multipart::Form::new().part(field.to_owned(), part))
                .send()
                .await,
        )
        .await
    }
}

impl VkApi for VkClient {
    fn group_info<'a>(&'a self, c: Community<'a>) -> BoxFuture<'a, Result<GroupInfo, RemoteError>> {
        Box::pin(async move {
            let r = self
                .call(&c, "groups.getById", &[("group_id", c.group_id.to_owned())])
                .await?;
            // 5.199 answers {groups: [...]}; earlier versions a bare list.
            let g = r.get("groups").unwrap_or(&r);
            let g = &g[0];
            Ok(GroupInfo {
                name: g["name"].as_str().map(str::to_owned),
                screen_name: g["screen_name"].as_str().map(str::to_owned),
            })
        })
    }

    fn send<'a>(
        &'a self,
        c: Community<'a>,
        peer_id: i64,
        random_id: i32,
        text: &'a str,
        attachment: Option<&'a str>,
        buttons: &'a [LinkButton],
    ) -> BoxFuture<'a, Result<i64, RemoteError>> {
        Box::pin(async move {
            let mut params = vec![
                ("peer_id", peer_id.to_string()),
                ("random_id", random_id.to_string()),
                ("message", text.to_owned()),
            ];
            if let Some(a) = attachment {
                params.push(("attachment", a.to_owned()));
            }
            if !buttons.is_empty() {
                params.push(("keyboard", keyboard(buttons).to_string()));
            }
            let r = self.call(&c, "messages.send", &params).await?;
            r.as_i64()
                .or_else(|| r[0]["message_id"].as_i64())
                .ok_or_else(|| passing("VK gave no message id"))
        })
    }

    fn upload<'a>(
        &'a self,
        c: Community<'a>,
        peer_id: i64,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            let photo = matches!(
                file.content_type.as_str(),
                "image/jpeg" | "image/png" | "image/gif"
            );
            if photo {
                let server = self
                    .call(
                        &c,
                        "photos.getMessagesUploadServer",
                        &[("peer_id", peer_id.to_string())],
                    )
                    .await?;
                let url = server["upload_url"]
                    .as_str()
                    .ok_or_else(|| passing("VK gave no upload server"))?;
                let up = self.upload_to(&c, url, "photo", file).await?;
                let saved = self
                    .call(
                        &c,
                        "photos.saveMessagesPhoto",
                        &[
                            ("server", up["server"].to_string()),
                            ("photo", up["photo"].as_str().unwrap_or_default().to_owned()),
                            ("hash", up["hash"].as_str().unwrap_or_default().to_owned()),
                        ],
                    )
                    .await?;
                let p = &saved[0];
                let (Some(owner), Some(id)) = (p["owner_id"].as_i64(), p["id"].as_i64()) else {
                    return Err(passing("VK did not save the photo"));
                };
                Ok(match p["access_key"].as_str() {
                    Some(k) => format!("photo{owner}_{id}_{k}"),
                    None => format!("photo{owner}_{id}"),
                })
            } else {
                let server = self
                    .call(
                        &c,
                        "docs.getMessagesUploadServer",
                        &[("type", "doc".into()), ("peer_id", peer_id.to_string())],
                    )
                    .await?;
                let url = server["upload_url"]
                    .as_str()
                    .ok_or_else(|| passing("VK gave no upload server"))?;
                let up = self.upload_to(&c, url, "file", file).await?;
                let saved = self
                    .call(
                        &c,
                        "docs.save",
                        &[
                            ("file", up["file"].as_str().unwrap_or_default().to_owned()),
                            ("title", file.filename.clone()),
                        ],
                    )
                    .await?;
                let d = &saved["doc"];
                let (Some(owner), Some(id)) = (d["owner_id"].as_i64(), d["id"].as_i64()) else {
                    return Err(passing("VK did not save the document"));
                };
                Ok(format!("doc{owner}_{id}"))
            }
        })
    }

    fn download<'a>(
        &'a self,
        url: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>> {
        Box::pin(async move {
            let too_large = || RemoteError {
                retry_after: None,
                permanent: true,
                description: format!("larger than {} MB", max >> 20),
            };
            let mut res = self
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| passing(format!("the file could not be fetched: {e}")))?;
            if !res.status().is_success() {
                return Err(passing(format!("the file answered {}", res.status())));
            }
            let mut out = Vec::new();
            while let Some(chunk) = res
                .chunk()
                .await
                .map_err(|e| passing(format!("the file broke off: {e}")))?
            {
                if out.len() + chunk.len() > max {
                    return Err(too_large());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out.into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cb(v: Value) -> Callback {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn link_buttons_are_an_inline_keyboard_a_row_each() {
        let b = (1..=7)
            .map(|n| LinkButton {
                label: n.to_string(),
                url: format!("https://h.example/s/t?score={n}"),
            })
            .collect::<Vec<_>>();
        let k = keyboard(&b);
        assert_eq!(k["inline"], true);
        let rows = k["buttons"].as_array().unwrap();
        assert_eq!(rows.len(), 6, "VK takes six rows at most");
        assert_eq!(
            rows[4],
            json!([{"action": {"type": "open_link", "link": "https://h.example/s/t?score=5", "label": "5"}}])
        );
    }

    #[test]
    fn private_messages_are_read_and_the_rest_is_not() {
        let m = cb(
            json!({"type": "message_new", "group_id": 42, "secret": "s", "event_id": "e1", "v": "5.199",
            "object": {"message": {"id": 77, "date": 1_795_000_000, "from_id": 1001, "peer_id": 1001, "out": 0,
                "text": "Где заказ?", "attachments": [
                    {"type": "photo", "photo": {"id": 5, "sizes": [
                        {"type": "s", "url": "https://sun9-1.userapi.com/s.jpg", "width": 75, "height": 75},
                        {"type": "w", "url": "https://sun9-1.userapi.com/w.jpg", "width": 1280, "height": 960}]}},
                    {"type": "doc", "doc": {"title": "чек", "ext": "pdf", "url": "https://vk.com/doc1_2", "size": 1234}},
                    {"type": "audio_message", "audio_message": {"link_ogg": "https://psv4.userapi.com/v.ogg"}},
                    {"type": "sticker", "sticker": {"sticker_id": 9}}
                ]}, "client_info": {}}}),
        );
        let Event::Message(r) = read(&m) else {
            panic!("a message")
        };
        assert_eq!((r.from_id, r.peer_id, r.id), (1001, 1001, 77));
        assert_eq!(r.text, "Где заказ?\n[стикер]");
        let names: Vec<&str> = r.files.iter().map(|f| f.filename.as_str()).collect();
        assert_eq!(names, ["photo-5.jpg", "чек.pdf", "voice-77.ogg"]);
        assert_eq!(r.files[0].file_id, "https://sun9-1.userapi.com/w.jpg");
        assert_eq!(
            read(&cb(json!({"type": "confirmation", "group_id": 42}))),
            Event::Confirmation
        );
        for other in [
            json!({"type": "message_new", "object": {"message": {"id": 1, "from_id": 5, "peer_id": 2_000_000_001, "text": "chat"}}}),
            json!({"type": "message_new", "object": {"message": {"id": 1, "from_id": -42, "peer_id": 5, "text": "ours"}}}),
            json!({"type": "message_reply", "object": {"id": 1}}),
            json!({"type": "group_join", "object": {}}),
        ] {
            assert_eq!(read(&cb(other.clone())), Event::Other, "{other}");
        }
    }
}
