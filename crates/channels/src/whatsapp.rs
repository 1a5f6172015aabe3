//! WhatsApp Cloud API: the webhook's notifications read into what the inbox
//! needs, and the calls a business number makes (messages, media upload and
//! download, message templates), over HTTP with bounded time and size.
//! <https://developers.facebook.com/docs/whatsapp/cloud-api>

use engine::ingest::RemoteFile;
use engine::messenger::{OutFile, RemoteError};
use engine::whatsapp::{
    Cloud, Notification, Outgoing, PhoneInfo, Received, StatusUpdate, Template, WhatsappApi,
};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The whole exchange with the Graph API, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest notification a webhook accepts.
pub const MAX_NOTIFICATION: usize = 1024 * 1024;
/// The largest media file the Cloud API serves (documents: 100 MB); the
/// engine's attachment limit is lower.
pub const MAX_MEDIA: usize = 100 * 1024 * 1024;

#[derive(Debug, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangeValue {
    metadata: Metadata,
    contacts: Vec<Contact>,
    messages: Vec<Msg>,
    statuses: Vec<Status>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Contact {
    wa_id: String,
    profile: Profile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Profile {
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Media {
    id: String,
    mime_type: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    file_size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SharedContact {
    name: Value,
    phones: Vec<Value>,
    emails: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Msg {
    from: String,
    id: String,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    text: Option<Value>,
    image: Option<Media>,
    video: Option<Media>,
    audio: Option<Media>,
    document: Option<Media>,
    sticker: Option<Media>,
    location: Option<Location>,
    contacts: Option<Vec<SharedContact>>,
    context: Option<Value>,
    button: Option<Value>,
    interactive: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Status {
    id: String,
    status: String,
    errors: Vec<Value>,
}

/// The extension a file of this type usually has.
fn extension(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "audio/ogg" => "ogg",
        "audio/mpeg" => "mp3",
        "audio/mp4" | "audio/aac" => "m4a",
        "video/mp4" => "mp4",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}

/// A location as a line to read and a map to open.
fn location_text(l: &Location) -> String {
    let place = [l.name.as_deref(), l.address.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let map = format!(
        "https://www.openstreetmap.org/?mlat={:.6}&mlon={:.6}#map=17/{:.6}/{:.6}",
        l.latitude, l.longitude, l.latitude, l.longitude
    );
    if place.is_empty() {
        format!("📍 {map}")
    } else {
        format!("📍 {place}\n{map}")
    }
}

/// Shared contact cards as lines: name, phones, addresses.
fn contacts_text(cs: &[SharedContact]) -> String {
    cs.iter()
        .map(|c| {
            let name = c.name["formatted_name"].as_str().unwrap_or("?");
            let phones = c.phones.iter().filter_map(|p| p["phone"].as_str());
            let emails = c.emails.iter().filter_map(|e| e["email"].as_str());
            let rest: Vec<&str> = phones.chain(emails).collect();
            if rest.is_empty() {
                format!("👤 {name}")
            } else {
                format!("👤 {name}: {}", rest.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn read_message(m: &Msg, names: &[Contact]) -> Option<Received> {
    if m.id.is_empty() || m.from.is_empty() {
        return None;
    }
    let mut text = String::new();
    let mut files = Vec::new();
    let media = [
        ("image", &m.image),
        ("video", &m.video),
        ("audio", &m.audio),
        ("document", &m.document),
        ("sticker", &m.sticker),
    ];
    for (kind, media) in media {
        let Some(f) = media else { continue };
        let mime = f
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        let tail: String =
            m.id.chars()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
        files.push(RemoteFile {
            file_id: f.id.clone(),
            filename: f
                .filename
                .clone()
                .unwrap_or_else(|| format!("{kind}-{tail}.{}", extension(&mime))),
            content_type: mime.split(';').next().unwrap_or_default().trim().to_owned(),
            size: f.file_size,
        });
        if let Some(c) = &f.caption {
            text = c.clone();
        }
    }
    if let Some(t) = m.text.as_ref().and_then(|t| t["body"].as_str()) {
        text = t.to_owned();
    }
    if let Some(l) = &m.location {
        text = location_text(l);
    }
    if let Some(cs) = &m.contacts {
        text = contacts_text(cs);
    }
    if let Some(b) = m.button.as_ref().and_then(|b| b["text"].as_str()) {
        text = b.to_owned();
    }
    if let Some(i) = &m.interactive {
        let reply = &i[i["type"].as_str().unwrap_or_default()];
        text = reply["title"].as_str().unwrap_or_default().to_owned();
    }
    match m.kind.as_str() {
        // A reaction is not something to answer; the system's notices are not the customer's.
        "reaction" | "system" | "ephemeral" => return None,
        "text" | "image" | "video" | "audio" | "document" | "sticker" | "location" | "contacts"
        | "button" | "interactive" => {}
        other => {
            if text.is_empty() && files.is_empty() {
                text = format!("[a WhatsApp message of a kind this server does not show: {other}]");
            }
        }
    }
    Some(Received {
        from: m.from.clone(),
        id: m.id.clone(),
        sent_at: m.timestamp.parse().unwrap_or_default(),
        name: names
            .iter()
            .find(|c| c.wa_id == m.from)
            .and_then(|c| c.profile.name.clone()),
        text,
        files,
        reply_to: m
            .context
            .as_ref()
            .and_then(|c| c["id"].as_str())
            .map(str::to_owned),
    })
}

/// What a notification brings for one business number: customers' messages
/// and the states of ours. Changes for other numbers (one Meta app may serve
/// several) and other fields are left out.
pub fn read(p: &Payload, phone_number_id: &str) -> Notification {
    let mut out = Notification::default();
    for change in p.entry.iter().flat_map(|e| &e.changes) {
        if change.field != "messages" {
            continue;
        }
        let Ok(v) = serde_json::from_value::<ChangeValue>(change.value.clone()) else {
            continue;
        };
        if v.metadata.phone_number_id != phone_number_id {
            continue;
        }
        out.messages.extend(
            v.messages
                .iter()
                .filter_map(|m| read_message(m, &v.contacts)),
        );
        out.statuses.extend(v.statuses.iter().map(|s| StatusUpdate {
            id: s.id.clone(),
            status: s.status.clone(),
            error: s.errors.first().map(|e| {
                let title = e["title"]
                    .as_str()
                    .or(e["message"].as_str())
                    .unwrap_or("failed");
                match e["error_data"]["details"].as_str() {
                    Some(d) => format!("WhatsApp: {title} ({}): {d}", e["code"]),
                    None => format!("WhatsApp: {title} ({})", e["code"]),
                }
            }),
        }));
    }
    out
}

fn passing(description: impl Into<String>) -> RemoteError {
    RemoteError {
        retry_after: None,
        permanent: false,
        description: description.into(),
    }
}

/// The Cloud API over HTTP, for the engine.
#[derive(Clone, Debug)]
pub struct WhatsappClient {
    http: reqwest::Client,
}

impl WhatsappClient {
    pub fn new() -> Result<WhatsappClient, RemoteError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| passing(format!("no HTTP client: {e}")))?;
        Ok(WhatsappClient { http })
    }

    /// Reads the Graph API's answer: the JSON, or `{error: {message, code}}`.
    /// Rate limits and server errors may pass; other refusals are final.
    async fn answer(res: Result<reqwest::Response, reqwest::Error>) -> Result<Value, RemoteError> {
        let res = res.map_err(|e| {
            passing(if e.is_timeout() {
                format!("WhatsApp did not answer within {} s", TIMEOUT.as_secs())
            } else {
                format!("WhatsApp could not be reached: {e}")
            })
        })?;
        let status = res.status();
        let body: Value = res
            .json()
            .await
            .map_err(|e| passing(format!("WhatsApp answered {status} without JSON: {e}")))?;
        if status.is_success() && body.get("error").is_none() {
            return Ok(body);
        }
        let e = &body["error"];
        let code = e["code"].as_i64().unwrap_or(i64::from(status.as_u16()));
        // Throughput and spam limits: Meta gives no wait; a minute is what its
        // documentation suggests before retrying.
        let limited =
            status.as_u16() == 429 || matches!(code, 4 | 80007 | 130429 | 131048 | 131056);
        let detail = e["error_data"]["details"].as_str();
        let message = e["message"].as_str().unwrap_or("refused");
        Err(RemoteError {
            retry_after: limited.then_some(60),
            permanent: !limited && !status.is_server_error(),
            description: match detail {
                Some(d) => format!("WhatsApp: {message} ({code}): {d}"),
                None => format!("WhatsApp: {message} ({code})"),
            },
        })
    }

    fn url(c: &Cloud<'_>, path: &str) -> String {
        format!("{}/{path}", c.base.trim_end_matches('/'))
    }

    async fn get(&self, c: &Cloud<'_>, path: &str) -> Result<Value, RemoteError> {
        Self::answer(
            self.http
                .get(Self::url(c, path))
                .bearer_auth(c.token)
                .send()
                .await,
        )
        .await
    }

    async fn post(&self, c: &Cloud<'_>, body: Value) -> Result<Value, RemoteError> {
        Self::answer(
            self.http
                .post(Self::url(c, &format!("{}/messages", c.phone_number_id)))
                .bearer_auth(c.token)
                .json(&body)
                .send()
                .await,
        )
        .await
    }
}

/// The message body the Cloud API takes for one outgoing message.
pub fn message_body(to: &str, m: &Outgoing) -> Value {
    let mut body =
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to});
    match m {
        Outgoing::Text(t) => {
            body["type"] = json!("text");
            body["text"] = json!({"preview_url": false, "body": t});
        }
        Outgoing::Link { text, label, url } => {
            body["type"] = json!("interactive");
            body["interactive"] = json!({
                "type": "cta_url",
                "body": {"text": text},
                "action": {"name": "cta_url", "parameters": {"display_text": label, "url": url}}
            });
        }
        Outgoing::Media {
            kind,
            media_id,
            filename,
        } => {
            body["type"] = json!(kind);
            let mut media = json!({"id": media_id});
            if *kind == "document" {
                media["filename"] = json!(filename);
            }
            body[*kind] = media;
        }
        Outgoing::Template {
            name,
            language,
            parameters,
        } => {
            body["type"] = json!("template");
            let mut t = json!({"name": name, "language": {"code": language}});
            if !parameters.is_empty() {
                t["components"] = json!([{"type": "body", "parameters":
                    parameters.iter().map(|p| json!({"type": "text", "text": p})).collect::<Vec<_>>()}]);
            }
            body["template"] = t;
        }
    }
    body
}

impl WhatsappApi for WhatsappClient {
    fn phone_info<'a>(&'a self, c: Cloud<'a>) -> BoxFuture<'a, Result<PhoneInfo, RemoteError>> {
        Box::pin(async move {
            let v = self
                .get(
                    &c,
                    &format!(
                        "{}?fields=display_phone_number,verified_name",
                        c.phone_number_id
                    ),
                )
                .await?;
            Ok(PhoneInfo {
                display_phone_number: v["display_phone_number"].as_str().map(str::to_owned),
                verified_name: v["verified_name"].as_str().map(str::to_owned),
            })
        })
    }

    fn send<'a>(
        &'a self,
        c: Cloud<'a>,
        to: &'a str,
        m: &'a Outgoing,
    ) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            let v = self.post(&c, message_body(to, m)).await?;
            v["messages"][0]["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| passing("WhatsApp gave no message id"))
        })
    }

    fn upload<'a>(
        &'a self,
        c: Cloud<'a>,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<String, RemoteError>> {
        Box::pin(async move {
            let part = || {
                reqwest::multipart::Part::stream(file.bytes.clone())
                    .file_name(file.filename.clone())
            };
            let part = part()
                .mime_str(&file.content_type)
                .or_else(|_| part().mime_str("application/octet-stream"))
                .map_err(|e| passing(format!("content type: {e}")))?;
            let form = reqwest::multipart::Form::new()
                .text("messaging_product", "whatsapp")
                .text("type", file.content_type.clone())
                .part("file", part);
            let v = Self::answer(
                self.http
                    .post(Self::url(&c, &format!("{}/media", c.phone_number_id)))
                    .bearer_auth(c.token)
                    .multipart(form)
                    .send()
                    .await,
            )
            .await?;
            v["id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| passing("WhatsApp gave no media id"))
        })
    }

    fn download<'a>(
        &'a self,
        c: Cloud<'a>,
        media_id: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>> {
        Box::pin(async move {
            let too_large = || RemoteError {
                retry_after: None,
                permanent: true,
                description: format!("larger than {} MB", max >> 20),
            };
            let meta = self.get(&c, media_id).await?;
            if meta["file_size"].as_u64().is_some_and(|s| s as usize > max) {
                return Err(too_large());
            }
            let url = meta["url"]
                .as_str()
                .ok_or_else(|| passing("WhatsApp gave no media address"))?;
            let mut res = self
                .http
                .get(url)
                .bearer_auth(c.token)
                .send()
                .await
                .map_err(|e| passing(format!("the media could not be fetched: {e}")))?;
            if !res.status().is_success() {
                return Err(passing(format!("the media answered {}", res.status())));
            }
            let mut out = Vec::new();
            while let Some(chunk) = res
                .chunk()
                .await
                .map_err(|e| passing(format!("the media broke off: {e}")))?
            {
                if out.len() + chunk.len() > max.min(MAX_MEDIA) {
                    return Err(too_large());
                }
                out.extend_from_slice(&chunk);
            }
            Ok(out.into())
        })
    }

    fn templates<'a>(
        &'a self,
        c: Cloud<'a>,
        business_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Template>, RemoteError>> {
        Box::pin(async move {
            let v = self
                .get(
                    &c,
                    &format!(
                        "{business_account_id}/message_templates?status=APPROVED&limit=200&fields=name,language,status,category,components"
                    ),
                )
                .await?;
            Ok(v["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["status"] == "APPROVED")
                .filter_map(|t| {
                    let body = t["components"]
                        .as_array()?
                        .iter()
                        .find(|c| c["type"] == "BODY")?["text"]
                        .as_str()?
                        .to_owned();
                    Some(Template {
                        name: t["name"].as_str()?.to_owned(),
                        language: t["language"].as_str()?.to_owned(),
                        category: t["category"].as_str().unwrap_or_default().to_owned(),
                        body,
                    })
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(v: Value) -> Payload {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn notifications_are_read_for_their_number_only() {
        let p = payload(
            json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [
                {"field": "messages", "value": {"messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "79990001122", "phone_number_id": "PN1"},
                    "contacts": [{"profile": {"name": "Анна"}, "wa_id": "79001234567"}],
                    "messages": [
                        {"from": "79001234567", "id": "wamid.A", "timestamp": "1795000000", "type": "text", "text": {"body": "Где заказ?"}},
                        {"from": "79001234567", "id": "wamid.B", "timestamp": "1795000001", "type": "image",
                         "image": {"id": "M1", "mime_type": "image/jpeg", "caption": "Коробка"}, "context": {"id": "wamid.OURS"}},
                        {"from": "79001234567", "id": "wamid.C", "timestamp": "1795000002", "type": "location",
                         "location": {"latitude": 55.75, "longitude": 37.61, "name": "Склад", "address": "Москва"}},
                        {"from": "79001234567", "id": "wamid.D", "timestamp": "1795000003", "type": "contacts",
                         "contacts": [{"name": {"formatted_name": "Борис"}, "phones": [{"phone": "+7 900 000-00-00"}]}]},
                        {"from": "79001234567", "id": "wamid.E", "timestamp": "1795000004", "type": "reaction",
                         "reaction": {"message_id": "wamid.OURS", "emoji": "👍"}}
                    ],
                    "statuses": [{"id": "wamid.OURS", "status": "failed", "timestamp": "1795000005", "recipient_id": "79001234567",
                        "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "More than 24 hours"}}]}]}},
                {"field": "messages", "value": {"metadata": {"phone_number_id": "OTHER"},
                    "messages": [{"from": "1", "id": "wamid.X", "timestamp": "1", "type": "text", "text": {"body": "not ours"}}]}}
            ]}]}),
        );
        let n = read(&p, "PN1");
        let ids: Vec<&str> = n.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["wamid.A", "wamid.B", "wamid.C", "wamid.D"]);
        assert_eq!(n.messages[0].name.as_deref(), Some("Анна"));
        assert_eq!(n.messages[1].text, "Коробка");
        assert_eq!(n.messages[1].files[0].file_id, "M1");
        assert_eq!(n.messages[1].reply_to.as_deref(), Some("wamid.OURS"));
        assert!(
            n.messages[2]
                .text
                .starts_with("📍 Склад, Москва\nhttps://www.openstreetmap.org/?mlat=55.750000")
        );
        assert_eq!(n.messages[3].text, "👤 Борис: +7 900 000-00-00");
        assert_eq!(n.statuses.len(), 1);
        assert_eq!(n.statuses[0].status, "failed");
        assert!(
            n.statuses[0]
                .error
                .as_deref()
                .unwrap()
                .contains("More than 24 hours")
        );
    }

    #[test]
    fn outgoing_messages_have_the_documented_shape() {
        let t = message_body("79001234567", &Outgoing::Text("Здравствуйте".into()));
        assert_eq!(
            t,
            json!({"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "79001234567", "type": "text", "text": {"preview_url": false, "body": "Здравствуйте"}})
        );
        let l = message_body(
            "1",
            &Outgoing::Link {
                text: "Оцените помощь".into(),
                label: "Оценить".into(),
                url: "https://h.example/s/t".into(),
            },
        );
        assert_eq!(l["type"], "interactive");
        assert_eq!(
            l["interactive"],
            json!({"type": "cta_url", "body": {"text": "Оцените помощь"},
            "action": {"name": "cta_url", "parameters": {"display_text": "Оценить", "url": "https://h.example/s/t"}}})
        );
        let d = message_body(
            "1",
            &Outgoing::Media {
                kind: "document",
                media_id: "M9".into(),
                filename: "счёт.pdf".into(),
            },
        );
        assert_eq!(d["document"], json!({"id": "M9", "filename": "счёт.pdf"}));
        let tpl = message_body(
            "1",
            &Outgoing::Template {
                name: "order_update".into(),
                language: "ru".into(),
                parameters: vec!["Анна".into()],
            },
        );
        assert_eq!(
            tpl["template"]["components"][0]["parameters"][0],
            json!({"type": "text", "text": "Анна"})
        );
    }
}
