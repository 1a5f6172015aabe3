//! Telegram Bot API: the updates a bot's webhook receives, read into what the
//! inbox needs, and the calls a bot makes (`setWebhook`, `sendMessage`,
//! `sendDocument`, `getFile` and the file download), over HTTP with bounded
//! time and size. <https://core.telegram.org/bots/api>

use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The whole exchange with the Bot API, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest file a bot may download (the Bot API's own limit is 20 MB).
pub const MAX_FILE: usize = 20 * 1024 * 1024;
/// The longest text one `sendMessage` takes; longer replies are split.
pub const MAX_TEXT: usize = 4096;

/// One update, as a webhook receives it. Fields this build does not read are
/// ignored; an update without a message (a member joining, a poll) reads as
/// nothing to do.
#[derive(Clone, Debug, Deserialize)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<Message>,
    pub edited_message: Option<Message>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Message {
    pub message_id: i64,
    /// Unix seconds.
    pub date: i64,
    pub chat: Chat,
    pub from: Option<User>,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub photo: Option<Vec<PhotoSize>>,
    pub document: Option<Document>,
    pub voice: Option<Voice>,
    pub sticker: Option<Sticker>,
    pub edit_date: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PhotoSize {
    pub file_id: String,
    pub width: i64,
    pub height: i64,
    pub file_size: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Document {
    pub file_id: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub file_size: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Voice {
    pub file_id: String,
    pub mime_type: Option<String>,
    pub file_size: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Sticker {
    pub file_id: String,
    pub emoji: Option<String>,
    #[serde(default)]
    pub is_animated: bool,
    #[serde(default)]
    pub is_video: bool,
}

/// A file a message names, fetched with `getFile`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    pub file_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: Option<i64>,
}

/// What a private message brings to the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub chat_id: i64,
    pub message_id: i64,
    /// When an edit: the edit's time (Unix seconds).
    pub edited_at: Option<i64>,
    /// Unix seconds.
    pub sent_at: i64,
    pub name: Option<String>,
    pub username: Option<String>,
    pub language: Option<String>,
    pub text: String,
    pub files: Vec<FileRef>,
}

/// The message an update carries for the inbox: private chats with people
/// only (a group, a channel post or another bot is not a customer).
pub fn read(u: &Update) -> Option<Received> {
    let (m, edited) = match (&u.message, &u.edited_message) {
        (Some(m), _) => (m, false),
        (None, Some(m)) => (m, true),
        (None, None) => return None,
    };
    let from = m.from.as_ref()?;
    if m.chat.kind != "private" || from.is_bot {
        return None;
    }
    let mut files = Vec::new();
    // The largest rendition of a photo.
    if let Some(p) = m
        .photo
        .as_ref()
        .and_then(|ps| ps.iter().max_by_key(|p| p.width * p.height))
    {
        files.push(FileRef {
            file_id: p.file_id.clone(),
            filename: format!("photo-{}.jpg", m.message_id),
            content_type: "image/jpeg".into(),
            size: p.file_size,
        });
    }
    if let Some(d) = &m.document {
        files.push(FileRef {
            file_id: d.file_id.clone(),
            filename: d
                .file_name
                .clone()
                .unwrap_or_else(|| format!("file-{}", m.message_id)),
            content_type: d
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: d.file_size,
        });
    }
    if let Some(v) = &m.voice {
        files.push(FileRef {
            file_id: v.file_id.clone(),
            filename: format!("voice-{}.ogg", m.message_id),
            content_type: v.mime_type.clone().unwrap_or_else(|| "audio/ogg".into()),
            size: v.file_size,
        });
    }
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    if let Some(s) = &m.sticker {
        // A sticker is an emoji to read; an animated one's file is not kept.
        let emoji = s.emoji.clone().unwrap_or_else(|| "🖼".into());
        text = if text.is_empty() {
            emoji
        } else {
            format!("{text} {emoji}")
        };
        if !s.is_animated && !s.is_video {
            files.push(FileRef {
                file_id: s.file_id.clone(),
                filename: format!("sticker-{}.webp", m.message_id),
                content_type: "image/webp".into(),
                size: None,
            });
        }
    }
    let name = match &from.last_name {
        Some(l) => format!("{} {l}", from.first_name),
        None => from.first_name.clone(),
    };
    Some(Received {
        chat_id: m.chat.id,
        message_id: m.message_id,
        edited_at: edited.then(|| m.edit_date.unwrap_or(m.date)),
        sent_at: m.date,
        name: Some(name.trim().to_owned()).filter(|n| !n.is_empty()),
        username: from.username.clone(),
        language: from.language_code.clone(),
        text,
        files,
    })
}

/// A call the Bot API refused or that did not complete.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{description}")]
pub struct ApiError {
    /// Telegram asked to wait this long (429 `retry_after`).
    pub retry_after: Option<u64>,
    /// Retrying cannot help (a 4xx other than 429: a bad token, a blocked bot).
    pub permanent: bool,
    pub description: String,
}

impl ApiError {
    fn passing(description: impl Into<String>) -> ApiError {
        ApiError {
            retry_after: None,
            permanent: false,
            description: description.into(),
        }
    }
}

/// A bot's side of the Bot API.
#[derive(Clone)]
pub struct BotApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for BotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotApi")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl BotApi {
    /// A bot at `base` (`https://api.telegram.org`, or a stand-in).
    pub fn new(base: &str, token: &str) -> Result<BotApi, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::passing(format!("no HTTP client: {e}")))?;
        Ok(BotApi {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    fn method(&self, name: &str) -> String {
        format!("{}/bot{}/{name}", self.base, self.token)
    }

    /// Reads the Bot API's answer: `{ok, result}` or `{ok: false, error_code,
    /// description, parameters: {retry_after}}`.
    async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Result<Value, ApiError> {
        let res = res.map_err(|e| {
            ApiError::passing(if e.is_timeout() {
                format!("Telegram did not answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("Telegram could not be reached: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| {
            ApiError::passing(format!("Telegram answered {status} without JSON: {e}"))
        })?;
        if body["ok"] == json!(true) {
            return Ok(body["result"].clone());
        }
        let code = body["error_code"]
            .as_u64()
            .unwrap_or(u64::from(status.as_u16()));
        Err(ApiError {
            retry_after: body["parameters"]["retry_after"].as_u64(),
            permanent: (400..500).contains(&code) && code != 429,
            description: format!(
                "Telegram: {} ({code})",
                body["description"].as_str().unwrap_or("refused")
            ),
        })
    }

    async fn call(&self, name: &str, args: Value) -> Result<Value, ApiError> {
        Self::answer(self.http.post(self.method(name)).json(&args).send().await).await
    }

    /// Points the bot's updates at `url`, with `secret` in every update's
    /// `X-Telegram-Bot-Api-Secret-Token`.
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), ApiError> {
        self.call(
            "setWebhook",
            json!({"url": url, "secret_token": secret,
                   "allowed_updates": ["message", "edited_message"]}),
        )
        .await
        .map(|_| ())
    }

    /// The bot's own account (checks the token).
    pub async fn get_me(&self) -> Result<Value, ApiError> {
        self.call("getMe", json!({})).await
    }

    /// Sends plain text (no parse mode, so nothing in it is read as
    /// formatting); returns the message's id.
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<i64, ApiError> {
        let r = self
            .call("sendMessage", json!({"chat_id": chat_id, "text": text}))
            .await?;
        Ok(r["message_id"].as_i64().unwrap_or_default())
    }

    /// Sends a file (`sendPhoto` for images, else `sendDocument`).
    pub async fn send_file(
        &self,
        chat_id: i64,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<i64, ApiError> {
        let (method, field) =
            if content_type.starts_with("image/") && bytes.len() <= 10 * 1024 * 1024 {
                ("sendPhoto", "photo")
            } else {
                ("sendDocument", "document")
            };
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(content_type)
            .map_err(|e| ApiError::passing(format!("content type: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("chat_id", chat_id.to_string())
            .part(field, part);
        let r = Self::answer(
            self.http
                .post(self.method(method))
                .multipart(form)
                .send()
                .await,
        )
        .await?;
        Ok(r["message_id"].as_i64().unwrap_or_default())
    }

    /// Downloads a file an update named: `getFile`, then its bytes (at most
    /// [`MAX_FILE`]).
    pub async fn download(&self, file_id: &str) -> Result<Vec<u8>, ApiError> {
        let f = self.call("getFile", json!({"file_id": file_id})).await?;
        let path = f["file_path"]
            .as_str()
            .ok_or_else(|| ApiError::passing("Telegram gave no file path"))?;
        if f["file_size"]
            .as_u64()
            .is_some_and(|s| s as usize > MAX_FILE)
        {
            return Err(ApiError {
                retry_after: None,
                permanent: true,
                description: "the file is larger than 20 MB".into(),
            });
        }
        let url = format!("{}/file/bot{}/{path}", self.base, self.token);
        let mut res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| ApiError::passing(format!("the file could not be fetched: {e}")))?;
        if !res.status().is_success() {
            return Err(ApiError::passing(format!(
                "the file answered {}",
                res.status()
            )));
        }
        let mut out = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| ApiError::passing(format!("the file broke off: {e}")))?
        {
            if out.len() + chunk.len() > MAX_FILE {
                return Err(ApiError {
                    retry_after: None,
                    permanent: true,
                    description: "the file is larger than 20 MB".into(),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// Splits a reply into pieces Telegram takes (at most [`MAX_TEXT`]
/// characters each), at line breaks where it can.
pub fn split_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        for ch in line.chars() {
            if cur.chars().count() == MAX_TEXT {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(ch);
        }
        // Prefer to break after a line when the next would not fit.
        if cur.chars().count() > MAX_TEXT * 3 / 4 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_messages_are_read_and_the_rest_is_not() {
        let u: Update = serde_json::from_value(json!({
            "update_id": 10,
            "message": {"message_id": 7, "date": 1_800_000_000,
                "chat": {"id": 555, "type": "private"},
                "from": {"id": 555, "is_bot": false, "first_name": "Анна", "last_name": "Петрова", "username": "anna_p", "language_code": "ru"},
                "caption": "Вот чек",
                "photo": [{"file_id": "small", "width": 90, "height": 90},
                          {"file_id": "big", "width": 1280, "height": 960, "file_size": 123456}]}
        }))
        .unwrap();
        let r = read(&u).unwrap();
        assert_eq!(r.chat_id, 555);
        assert_eq!(r.text, "Вот чек");
        assert_eq!(r.name.as_deref(), Some("Анна Петрова"));
        assert_eq!(r.language.as_deref(), Some("ru"));
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].file_id, "big");
        assert_eq!(r.edited_at, None);

        let edited: Update = serde_json::from_value(json!({
            "update_id": 11,
            "edited_message": {"message_id": 7, "date": 1_800_000_000, "edit_date": 1_800_000_060,
                "chat": {"id": 555, "type": "private"},
                "from": {"id": 555, "first_name": "Анна"}, "text": "Вот чек, исправила"}
        }))
        .unwrap();
        assert_eq!(read(&edited).unwrap().edited_at, Some(1_800_000_060));

        for not_ours in [
            json!({"update_id": 12, "message": {"message_id": 1, "date": 1, "chat": {"id": -100, "type": "group"},
                   "from": {"id": 1, "first_name": "A"}, "text": "hi"}}),
            json!({"update_id": 13, "message": {"message_id": 1, "date": 1, "chat": {"id": 9, "type": "private"},
                   "from": {"id": 9, "is_bot": true, "first_name": "Bot"}, "text": "hi"}}),
            json!({"update_id": 14, "my_chat_member": {}}),
        ] {
            let u: Update = serde_json::from_value(not_ours.clone()).unwrap();
            assert!(read(&u).is_none(), "{not_ours}");
        }
    }

    /// A stand-in for the Bot API on loopback: records every call, answers
    /// `sendMessage` once with 429, serves one file.
    async fn fake_bot_api() -> (
        String,
        std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    ) {
        use axum::extract::{Path, State};
        use axum::http::StatusCode;
        use std::sync::{Arc, Mutex};
        type Calls = Arc<Mutex<Vec<(String, String)>>>;
        async fn method(
            State(calls): State<Calls>,
            Path((bot, name)): Path<(String, String)>,
            body: axum::body::Bytes,
        ) -> (StatusCode, axum::Json<Value>) {
            let mut c = calls.lock().unwrap_or_else(|e| e.into_inner());
            c.push((name.clone(), String::from_utf8_lossy(&body).into_owned()));
            if bot != "bot123:SECRET" {
                return (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(
                        json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
                    ),
                );
            }
            let sent_before = c.iter().filter(|(n, _)| n == "sendMessage").count();
            match name.as_str() {
                "sendMessage" if sent_before == 2 => (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(json!({"ok": false, "error_code": 429,
                        "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}})),
                ),
                "getFile" => (
                    StatusCode::OK,
                    axum::Json(json!({"ok": true,
                    "result": {"file_id": "big", "file_path": "photos/file_1.jpg", "file_size": 5}})),
                ),
                _ => (
                    StatusCode::OK,
                    axum::Json(json!({"ok": true, "result": {"message_id": 42}})),
                ),
            }
        }
        let calls: Calls = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/{bot}/{name}", axum::routing::post(method))
            .route(
                "/file/{bot}/photos/{file}",
                axum::routing::get(|| async { axum::body::Bytes::from_static(b"\xff\xd8JPG") }),
            )
            .with_state(calls.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        (base, calls)
    }

    #[tokio::test]
    async fn the_bot_api_is_called_as_documented() {
        let (base, calls) = fake_bot_api().await;
        let bot = BotApi::new(&base, "123:SECRET").unwrap();
        bot.set_webhook("https://help.shop.example/hooks/telegram/1", "s3cr3t")
            .await
            .unwrap();
        let (name, body) = calls.lock().unwrap()[0].clone();
        assert_eq!(name, "setWebhook");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["secret_token"], "s3cr3t");
        assert_eq!(
            body["allowed_updates"],
            json!(["message", "edited_message"])
        );

        // Plain text, no parse mode: `*` and `<b>` arrive as typed.
        assert_eq!(
            bot.send_message(555, "Цена *со скидкой* <b>500</b>")
                .await
                .unwrap(),
            42
        );
        let body: Value = serde_json::from_str(&calls.lock().unwrap()[1].1).unwrap();
        assert_eq!(
            body,
            json!({"chat_id": 555, "text": "Цена *со скидкой* <b>500</b>"})
        );
        assert!(body.get("parse_mode").is_none());
        // Telegram's 429 is a passing failure that says how long to wait.
        let e = bot.send_message(555, "ещё").await.unwrap_err();
        assert_eq!((e.retry_after, e.permanent), (Some(3), false));

        assert_eq!(bot.download("big").await.unwrap(), b"\xff\xd8JPG");
        assert_eq!(
            bot.send_file(555, "чек.pdf", "application/pdf", b"%PDF-1.4".to_vec())
                .await
                .unwrap(),
            42
        );
        assert_eq!(calls.lock().unwrap().last().unwrap().0, "sendDocument");

        // A wrong token is final.
        let e = BotApi::new(&base, "123:WRONG")
            .unwrap()
            .get_me()
            .await
            .unwrap_err();
        assert!(e.permanent && e.retry_after.is_none(), "{e:?}");
        // Nobody listening: a passing failure with the reason.
        let e = BotApi::new("http://127.0.0.1:9", "123:SECRET")
            .unwrap()
            .get_me()
            .await
            .unwrap_err();
        assert!(
            !e.permanent && e.description.contains("could not be reached"),
            "{e:?}"
        );
    }

    #[test]
    fn long_replies_are_split_within_the_limit() {
        let text = "строка\n".repeat(2000);
        let parts = split_text(&text);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_TEXT));
        assert_eq!(parts.concat(), text);
        let one_line = "я".repeat(10_000);
        let parts = split_text(&one_line);
        assert_eq!(parts.concat(), one_line);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_TEXT));
    }
}
