//! Telegram Bot API: the updates a bot's webhook receives, read into what the
//! inbox needs, and the calls a bot makes (`setWebhook`, `sendMessage`,
//! `sendDocument`, `getFile` and the file download), over HTTP with bounded
//! time and size. <https://core.telegram.org/bots/api>

use engine::messenger::{LinkButton, OutFile, RemoteError};
use engine::telegram::{Bot, BotInfo, FileRef, Received, TelegramApi};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The whole exchange with the Bot API, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest file a bot may download (the Bot API's own limit is 20 MB).
pub use engine::telegram::MAX_FILE;
/// The largest update a webhook accepts (Telegram's are a few kilobytes).
pub const MAX_UPDATE: usize = 1024 * 1024;

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

fn passing(description: impl Into<String>) -> RemoteError {
    RemoteError {
        retry_after: None,
        permanent: false,
        description: description.into(),
    }
}

/// An HTTP client for the Bot API: bounded time, no redirects.
fn client() -> Result<reqwest::Client, RemoteError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| passing(format!("no HTTP client: {e}")))
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
    pub fn new(base: &str, token: &str) -> Result<BotApi, RemoteError> {
        Ok(BotApi::with_client(client()?, base, token))
    }

    /// A bot over a client shared with others.
    pub fn with_client(http: reqwest::Client, base: &str, token: &str) -> BotApi {
        BotApi {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        }
    }

    fn method(&self, name: &str) -> String {
        format!("{}/bot{}/{name}", self.base, self.token)
    }

    /// Reads the Bot API's answer: `{ok, result}` or `{ok: false, error_code,
    /// description, parameters: {retry_after}}`.
    async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Result<Value, RemoteError> {
        let res = res.map_err(|e| {
            passing(if e.is_timeout() {
                format!("Telegram did not answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("Telegram could not be reached: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|e| passing(format!("Telegram answered {status} without JSON: {e}")))?;
        if body["ok"] == json!(true) {
            return Ok(body["result"].clone());
        }
        let code = body["error_code"]
            .as_u64()
            .unwrap_or(u64::from(status.as_u16()));
        Err(RemoteError {
            retry_after: body["parameters"]["retry_after"].as_u64(),
            permanent: (400..500).contains(&code) && code != 429,
            description: format!(
                "Telegram: {} ({code})",
                body["description"].as_str().unwrap_or("refused")
            ),
        })
    }

    async fn call(&self, name: &str, args: Value) -> Result<Value, RemoteError> {
        Self::answer(self.http.post(self.method(name)).json(&args).send().await).await
    }

    /// Points the bot's updates at `url`, with `secret` in every update's
    /// `X-Telegram-Bot-Api-Secret-Token`.
    pub async fn set_webhook(&self, url: &str, secret: &str) -> Result<(), RemoteError> {
        self.call(
            "setWebhook",
            json!({"url": url, "secret_token": secret,
                   "allowed_updates": ["message", "edited_message"]}),
        )
        .await
        .map(|_| ())
    }

    /// Stops the bot's updates from coming here.
    pub async fn delete_webhook(&self) -> Result<(), RemoteError> {
        self.call("deleteWebhook", json!({})).await.map(|_| ())
    }

    /// The bot's own account (checks the token).
    pub async fn get_me(&self) -> Result<BotInfo, RemoteError> {
        let me = self.call("getMe", json!({})).await?;
        let name = match me["last_name"].as_str() {
            Some(l) => format!("{} {l}", me["first_name"].as_str().unwrap_or_default()),
            None => me["first_name"].as_str().unwrap_or_default().to_owned(),
        };
        Ok(BotInfo {
            id: me["id"]
                .as_i64()
                .ok_or_else(|| passing("Telegram's getMe gave no id"))?,
            username: me["username"].as_str().map(str::to_owned),
            name,
        })
    }

    /// Sends text in Telegram's HTML mode (the caller escapes what must be
    /// shown as typed); returns the message's id.
    pub async fn send_message(
        &self,
        chat_id: i64,
        html: &str,
        buttons: &[LinkButton],
    ) -> Result<i64, RemoteError> {
        let mut body = json!({"chat_id": chat_id, "text": html, "parse_mode": "HTML"});
        if !buttons.is_empty() {
            // One row: five scores fit on a phone.
            body["reply_markup"] = json!({"inline_keyboard": [buttons
                .iter()
                .map(|b| json!({"text": b.label, "url": b.url}))
                .collect::<Vec<_>>()]});
        }
        let r = self.call("sendMessage", body).await?;
        Ok(r["message_id"].as_i64().unwrap_or_default())
    }

    /// Sends a file (`sendPhoto` for images, else `sendDocument`).
    pub async fn send_file(
        &self,
        chat_id: i64,
        filename: &str,
        content_type: &str,
        bytes: bytes::Bytes,
    ) -> Result<i64, RemoteError> {
        // Photos are shown inline but recompressed; anything else (and any
        // image over the photo limit) goes as a document, byte for byte.
        let photo = matches!(content_type, "image/jpeg" | "image/png" | "image/webp")
            && bytes.len() <= 10 * 1024 * 1024;
        let (method, field) = if photo {
            ("sendPhoto", "photo")
        } else {
            ("sendDocument", "document")
        };
        let part =
            || reqwest::multipart::Part::stream(bytes.clone()).file_name(filename.to_owned());
        // A type the multipart writer cannot state is sent as plain bytes.
        let part = part()
            .mime_str(content_type)
            .or_else(|_| part().mime_str("application/octet-stream"))
            .map_err(|e| passing(format!("content type: {e}")))?;
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
    pub async fn download(&self, file_id: &str) -> Result<bytes::Bytes, RemoteError> {
        let f = self.call("getFile", json!({"file_id": file_id})).await?;
        let path = f["file_path"]
            .as_str()
            .ok_or_else(|| passing("Telegram gave no file path"))?;
        if f["file_size"]
            .as_u64()
            .is_some_and(|s| s as usize > MAX_FILE)
        {
            return Err(RemoteError {
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
            if out.len() + chunk.len() > MAX_FILE {
                return Err(RemoteError {
                    retry_after: None,
                    permanent: true,
                    description: "the file is larger than 20 MB".into(),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.into())
    }
}

/// The Bot API over HTTP, for the engine: one client shared by every bot.
#[derive(Clone, Debug)]
pub struct TelegramClient {
    http: reqwest::Client,
}

impl TelegramClient {
    pub fn new() -> Result<TelegramClient, RemoteError> {
        Ok(TelegramClient { http: client()? })
    }

    fn bot(&self, bot: Bot<'_>) -> BotApi {
        BotApi::with_client(self.http.clone(), bot.base, bot.token)
    }
}

impl TelegramApi for TelegramClient {
    fn get_me<'a>(&'a self, bot: Bot<'a>) -> BoxFuture<'a, Result<BotInfo, RemoteError>> {
        Box::pin(async move { self.bot(bot).get_me().await })
    }
    fn set_webhook<'a>(
        &'a self,
        bot: Bot<'a>,
        url: &'a str,
        secret: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { self.bot(bot).set_webhook(url, secret).await })
    }
    fn delete_webhook<'a>(&'a self, bot: Bot<'a>) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { self.bot(bot).delete_webhook().await })
    }
    fn send_html<'a>(
        &'a self,
        bot: Bot<'a>,
        chat_id: i64,
        html: &'a str,
        buttons: &'a [LinkButton],
    ) -> BoxFuture<'a, Result<i64, RemoteError>> {
        Box::pin(async move { self.bot(bot).send_message(chat_id, html, buttons).await })
    }
    fn send_file<'a>(
        &'a self,
        bot: Bot<'a>,
        chat_id: i64,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<i64, RemoteError>> {
        Box::pin(async move {
            self.bot(bot)
                .send_file(
                    chat_id,
                    &file.filename,
                    &file.content_type,
                    file.bytes.clone(),
                )
                .await
        })
    }
    fn download<'a>(
        &'a self,
        bot: Bot<'a>,
        file_id: &'a str,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>> {
        Box::pin(async move { self.bot(bot).download(file_id).await })
    }
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

    #[tokio::test]
    async fn the_bot_api_is_called_as_documented() {
        let fake = crate::telegram_stand_in::StandIn::start("123:SECRET")
            .await
            .unwrap();
        let base = fake.base.clone();
        let bot = BotApi::new(&base, "123:SECRET").unwrap();
        bot.set_webhook("https://help.shop.example/hooks/telegram/1", "s3cr3t")
            .await
            .unwrap();
        let call = fake.calls()[0].clone();
        assert_eq!(call.method, "setWebhook");
        let body = call.args;
        assert_eq!(body["secret_token"], "s3cr3t");
        assert_eq!(
            body["allowed_updates"],
            json!(["message", "edited_message"])
        );

        // HTML mode with the text escaped: `*` and `<b>` arrive as typed.
        let html = engine::telegram::escape_html("Цена *со скидкой* <b>500</b>");
        assert_eq!(bot.send_message(555, &html, &[]).await.unwrap(), 1001);
        let body = fake.calls()[1].args.clone();
        assert_eq!(
            body,
            json!({"chat_id": 555, "text": "Цена *со скидкой* &lt;b&gt;500&lt;/b&gt;", "parse_mode": "HTML"})
        );
        // Link buttons ride in one row of an inline keyboard.
        let rate = [1, 5].map(|n| LinkButton {
            label: n.to_string(),
            url: format!("https://help.shop.example/s/t?score={n}"),
        });
        bot.send_message(555, "Оцените", &rate).await.unwrap();
        assert_eq!(
            fake.calls()[2].args["reply_markup"],
            json!({"inline_keyboard": [[
                {"text": "1", "url": "https://help.shop.example/s/t?score=1"},
                {"text": "5", "url": "https://help.shop.example/s/t?score=5"}
            ]]})
        );
        // Telegram's 429 is a passing failure that says how long to wait; a
        // blocked bot is final.
        fake.fail_next(
            "sendMessage",
            429,
            "Too Many Requests: retry after 3",
            Some(3),
        );
        let e = bot.send_message(555, "ещё", &[]).await.unwrap_err();
        assert_eq!((e.retry_after, e.permanent), (Some(3), false));
        fake.fail_next(
            "sendMessage",
            403,
            "Forbidden: bot was blocked by the user",
            None,
        );
        let e = bot.send_message(555, "ещё", &[]).await.unwrap_err();
        assert!(e.permanent && e.description.contains("blocked"), "{e:?}");

        fake.add_file("big", b"\xff\xd8JPG");
        assert_eq!(&bot.download("big").await.unwrap()[..], b"\xff\xd8JPG");
        assert_eq!(
            bot.send_file(
                555,
                "чек.pdf",
                "application/pdf",
                bytes::Bytes::from_static(b"%PDF-1.4")
            )
            .await
            .unwrap(),
            1003,
            "after the two messages"
        );
        let last = fake.calls().last().unwrap().clone();
        assert_eq!(last.method, "sendDocument");
        assert_eq!(
            (last.args["filename"].as_str(), last.args["size"].as_u64()),
            (Some("чек.pdf"), Some(8))
        );

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
}
