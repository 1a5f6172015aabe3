//! WhatsApp channels (Cloud API): a business phone number (a channel account
//! of kind `whatsapp`, addressed by its `phone_number_id`) whose webhook
//! notifications bring customers' messages and the states of ours, and whose
//! replies leave through the Graph API.
//!
//! The wire side lives in the channels crate behind [`WhatsappApi`]. Meta's
//! webhook is set up in the Meta app by the admin, with the address and
//! verify token this channel shows: Meta's `GET` with `hub.challenge` is
//! answered when the verify token matches; every notification must carry
//! `X-Hub-Signature-256`, the HMAC-SHA256 of the raw body under the app
//! secret. Messages go through the one ingest path at once (keyed by their
//! `wamid`); media are fetched afterwards by `Job::FetchFiles`; statuses
//! move our messages forward (`sent`, `delivered`, `read`, or `failed` with
//! WhatsApp's reason).
//!
//! The customer-service window: a free-form reply may be sent only within 24
//! hours of the customer's last message (`outbound::guard`); outside it only
//! an approved message template may be sent, which agents pick in the
//! composer (`templates`, `send_template`).
//!
//! Invariants: the access token, app secret and verify token are stored
//! sealed and never returned; a notification without a valid signature
//! stores nothing.

use crate::ingest::{
    AccountRef, Content, CustomerMessage, DeliveryReport, Inbound, RemoteFile, Sender, Thread,
};
use crate::messenger::{
    HookRefusal, NewAccount, OutFile, RemoteError, parse_base, remote_delivery, same_secret,
    secret_field, settings_of,
};
use crate::outbound::Delivery;
use crate::remote_files::Fetched;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::ids::*;
use domain::ticket::{Channel, DeliveryState};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::channels::{self, Account};

/// The Graph API with the version this build speaks.
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com/v21.0";
/// Longest text of one WhatsApp message, in characters.
pub const MAX_TEXT: usize = 4096;
/// The longest body of an interactive message, and of its button's label.
/// <https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-cta-url-messages>
const MAX_INTERACTIVE_TEXT: usize = 1024;
const MAX_BUTTON_LABEL: usize = 20;

/// A business number's side of the Cloud API.
#[derive(Clone, Copy, Debug)]
pub struct Cloud<'a> {
    /// `https://graph.facebook.com/v21.0`, or a stand-in.
    pub base: &'a str,
    pub phone_number_id: &'a str,
    pub token: &'a str,
}

/// What the Graph API says of the number (checks the token too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneInfo {
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
}

/// A customer's message, as the inbox needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// The customer's WhatsApp id (their number, digits only).
    pub from: String,
    /// `wamid.…`
    pub id: String,
    /// Unix seconds.
    pub sent_at: i64,
    pub name: Option<String>,
    pub text: String,
    pub files: Vec<RemoteFile>,
    /// Our message this one answers (WhatsApp's `context`).
    pub reply_to: Option<String>,
}

/// A state WhatsApp reports for one of our messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    pub id: String,
    /// `sent`, `delivered`, `read`, `failed` (others are ignored).
    pub status: String,
    pub error: Option<String>,
}

/// What one webhook notification brings for a number.
#[derive(Clone, Debug, Default)]
pub struct Notification {
    pub messages: Vec<Received>,
    pub statuses: Vec<StatusUpdate>,
}

/// One message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    Text(String),
    /// Text with one button that opens a link (an interactive call-to-action
    /// message).
    Link {
        text: String,
        label: String,
        url: String,
    },
    /// An uploaded file: `image`, `audio`, `video` or `document`.
    Media {
        kind: &'static str,
        media_id: String,
        filename: String,
    },
    /// An approved template with its body's parameters, in order.
    Template {
        name: String,
        language: String,
        parameters: Vec<String>,
    },
}

/// An approved message template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub category: String,
    /// The body with `{{1}}`, `{{2}}` … where parameters go.
    pub body: String,
}

impl Template {
    /// How many parameters the body takes (`{{1}}` … `{{n}}`).
    pub fn parameters(&self) -> usize {
        (1..=20)
            .take_while(|i| self.body.contains(&format!("{{{{{i}}}}}")))
            .count()
    }

    /// The body with the parameters in place: what the customer reads.
    pub fn render(&self, parameters: &[String]) -> String {
        parameters
            .iter()
            .enumerate()
            .fold(self.body.clone(), |b, (i, p)| {
                b.replace(&format!("{{{{{}}}}}", i + 1), p)
            })
    }
}

/// The Cloud API, as the engine needs it (implemented over HTTP by the
/// channels crate; every call bounded in time and size there).
pub trait WhatsappApi: Send + Sync {
    fn phone_info<'a>(&'a self, c: Cloud<'a>) -> BoxFuture<'a, Result<PhoneInfo, RemoteError>>;
    /// Sends one message; returns its `wamid`.
    fn send<'a>(
        &'a self,
        c: Cloud<'a>,
        to: &'a str,
        m: &'a Outgoing,
    ) -> BoxFuture<'a, Result<String, RemoteError>>;
    /// Uploads a file; returns the media id to send.
    fn upload<'a>(
        &'a self,
        c: Cloud<'a>,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<String, RemoteError>>;
    /// A customer's media by id (the media endpoint, then its address), at
    /// most `max` bytes.
    fn download<'a>(
        &'a self,
        c: Cloud<'a>,
        media_id: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>>;
    /// The business account's approved templates.
    fn templates<'a>(
        &'a self,
        c: Cloud<'a>,
        business_account_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Template>, RemoteError>>;
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    access_token: String,
    app_secret: String,
    verify_token: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    api_base_url: String,
    business_account_id: Option<String>,
    display_phone_number: Option<String>,
    verified_name: Option<String>,
    team_id: Option<TeamId>,
}

/// A WhatsApp channel as admins see it (never its secrets).
#[derive(Clone, Debug)]
pub struct WhatsappChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub phone_number_id: String,
    pub business_account_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub api_base_url: String,
    /// The callback address to give Meta, with the verify token.
    pub webhook_url: Option<String>,
    pub team_id: Option<TeamId>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new WhatsApp channel, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct WhatsappInput {
    pub name: Option<String>,
    pub phone_number_id: Option<String>,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub api_base_url: Option<String>,
    pub business_account_id: Option<Option<String>>,
    pub active: Option<bool>,
    pub team_id: Option<Option<TeamId>>,
}

/// A template message an agent sends outside the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateChoice {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

type Opened = crate::messenger::Opened<Secrets, Settings>;

impl Opened {
    fn cloud(&self) -> Cloud<'_> {
        Cloud {
            base: &self.settings.api_base_url,
            phone_number_id: &self.account.address,
            token: &self.secrets.access_token,
        }
    }
}

/// An id the Graph API gives: digits only.
fn graph_id(field: &str, v: &str) -> Result<String, EngineError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 30 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(EngineError::invalid(field, Code::WhatsappNumberId));
    }
    Ok(v.to_owned())
}

fn missing(field: &str) -> EngineError {
    EngineError::invalid(field, Code::Required)
}

/// Checks `X-Hub-Signature-256` (`sha256=` and the hex HMAC-SHA256 of the raw
/// body under the app secret).
pub fn signature_matches(app_secret: &str, body: &[u8], header: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    same_secret(&hex.to_ascii_lowercase(), &expected)
}

impl Engine {
    fn whatsapp_api(&self) -> Result<&dyn WhatsappApi, EngineError> {
        self.whatsapp
            .as_deref()
            .ok_or_else(|| EngineError::Internal("no WhatsApp transport installed".into()))
    }

    fn open_whatsapp(&self, a: Account) -> Result<Opened, EngineError> {
        self.open_account(a)
    }

    fn whatsapp_view(&self, a: Account) -> Result<WhatsappChannel, EngineError> {
        let s: Settings = settings_of(&a)?;
        Ok(WhatsappChannel {
            webhook_url: self.hook_url(Channel::Whatsapp, a.id),
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            phone_number_id: a.address,
            business_account_id: s.business_account_id,
            display_phone_number: s.display_phone_number,
            verified_name: s.verified_name,
            api_base_url: s.api_base_url,
            team_id: s.team_id,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Connects a business number: checks the token against the number
    /// (`GET /{phone_number_id}`) and keeps the channel. Meta's webhook is
    /// then pointed at `webhook_url` with the verify token, in the Meta app.
    pub async fn create_whatsapp_channel(
        &self,
        p: &Principal,
        input: WhatsappInput,
    ) -> Result<WhatsappChannel, EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(input.name, "name", 100)?;
        let number = graph_id(
            "phone_number_id",
            input
                .phone_number_id
                .as_deref()
                .ok_or_else(|| missing("phone_number_id"))?,
        )?;
        let secrets = Secrets {
            access_token: secret_field(
                "access_token",
                input
                    .access_token
                    .as_deref()
                    .ok_or_else(|| missing("access_token"))?,
            )?,
            app_secret: secret_field(
                "app_secret",
                input
                    .app_secret
                    .as_deref()
                    .ok_or_else(|| missing("app_secret"))?,
            )?,
            verify_token: secret_field(
                "verify_token",
                input
                    .verify_token
                    .as_deref()
                    .ok_or_else(|| missing("verify_token"))?,
            )?,
        };
        let base = parse_base(input.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE))?;
        let waba = match input.business_account_id.flatten() {
            Some(w) => Some(graph_id("business_account_id", &w)?),
            None => None,
        };
        let team_id = input.team_id.flatten();
        self.check_channel_team(p, team_id).await?;
        let id = AccountId::new();
        if self.hook_url(Channel::Whatsapp, id).is_none() {
            return Err(EngineError::Conflict(
                Message::new(Code::PublicUrlUnset).label("channel", "channel", "whatsapp"),
            ));
        }
        if self.address_taken(Channel::Whatsapp, &number).await? {
            return Err(EngineError::Conflict(crate::messenger::taken(TAKEN)));
        }
        let info = self
            .whatsapp_api()?
            .phone_info(Cloud {
                base: &base,
                phone_number_id: &number,
                token: &secrets.access_token,
            })
            .await
            .map_err(|e| EngineError::Upstream(e.description))?;
        let sealed = self.seal_json(&secrets)?;
        let settings = Settings {
            api_base_url: base,
            business_account_id: waba,
            display_phone_number: info.display_phone_number,
            verified_name: info.verified_name,
            team_id,
        };
        let a = self
            .insert_channel(
                p,
                NewAccount {
                    id,
                    kind: Channel::Whatsapp,
                    name,
                    address: number,
                    inbound_kind: "webhook",
                    secrets: sealed,
                    settings: json!(settings),
                    active: input.active.unwrap_or(true),
                },
                TAKEN,
            )
            .await?;
        self.whatsapp_view(a)
    }

    pub async fn whatsapp_channels(
        &self,
        p: &Principal,
    ) -> Result<Vec<WhatsappChannel>, EngineError> {
        self.channel_accounts(p, Channel::Whatsapp)
            .await?
            .into_iter()
            .map(|a| self.whatsapp_view(a))
            .collect()
    }

    async fn whatsapp_account(
        &self,
        ws: WorkspaceId,
        id: AccountId,
    ) -> Result<Account, EngineError> {
        self.channel_account(ws, id, Channel::Whatsapp).await
    }

    pub async fn whatsapp_channel(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<WhatsappChannel, EngineError> {
        p.require_admin()?;
        self.whatsapp_view(self.whatsapp_account(p.workspace_id, id).await?)
    }

    /// Changes a channel. The number cannot change (another number is another
    /// channel); a new access token or API base is checked against it first.
    pub async fn update_whatsapp_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: WhatsappInput,
    ) -> Result<WhatsappChannel, EngineError> {
        p.require_admin()?;
        let mut o = self.open_whatsapp(self.whatsapp_account(p.workspace_id, id).await?)?;
        if let Some(n) = &input.phone_number_id
            && graph_id("phone_number_id", n)? != o.account.address
        {
            return Err(EngineError::invalid(
                "phone_number_id",
                Code::WhatsappOtherNumber,
            ));
        }
        let name = match input.name {
            Some(n) => crate::chat::required_line(Some(n), "name", 100)?,
            None => o.account.name.clone(),
        };
        let mut recheck = false;
        if let Some(t) = &input.access_token {
            o.secrets.access_token = secret_field("access_token", t)?;
            recheck = true;
        }
        if let Some(t) = &input.app_secret {
            o.secrets.app_secret = secret_field("app_secret", t)?;
        }
        if let Some(t) = &input.verify_token {
            o.secrets.verify_token = secret_field("verify_token", t)?;
        }
        if let Some(b) = &input.api_base_url {
            o.settings.api_base_url = parse_base(b)?;
            recheck = true;
        }
        if let Some(w) = input.business_account_id {
            o.settings.business_account_id = match w {
                Some(w) => Some(graph_id("business_account_id", &w)?),
                None => None,
            };
        }
        if let Some(t) = input.team_id {
            self.check_channel_team(p, t).await?;
            o.settings.team_id = t;
        }
        if recheck {
            let info = self
                .whatsapp_api()?
                .phone_info(o.cloud())
                .await
                .map_err(|e| EngineError::Upstream(e.description))?;
            o.settings.display_phone_number = info.display_phone_number;
            o.settings.verified_name = info.verified_name;
        }
        let sealed = self.seal_json(&o.secrets)?;
        let settings = json!(o.settings);
        let active = input.active.unwrap_or(o.account.active);
        let a = self
            .save_channel(p, id, (name, active), Some(sealed), settings)
            .await?;
        self.whatsapp_view(a)
    }

    /// The active WhatsApp channel a webhook's path names, across
    /// workspaces (its secrets prove the caller, as a token names its workspace).
    async fn whatsapp_hook_account(&self, id: AccountId) -> Result<Opened, HookRefusal> {
        let a = self.hook_account(id, Channel::Whatsapp).await?;
        self.open_whatsapp(a).map_err(|e| {
            tracing::error!(error = %e, "a WhatsApp channel's credentials cannot be opened");
            HookRefusal::Unknown
        })
    }

    /// Meta's subscription check: the challenge when the mode is `subscribe`
    /// and the verify token is the channel's.
    pub async fn whatsapp_verify(
        &self,
        id: AccountId,
        mode: Option<&str>,
        token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, HookRefusal> {
        let o = self.whatsapp_hook_account(id).await?;
        let (Some(token), Some(challenge)) = (token, challenge) else {
            return Err(HookRefusal::Unsigned);
        };
        if mode != Some("subscribe") || !same_secret(token, &o.secrets.verify_token) {
            return Err(HookRefusal::BadSecret);
        }
        Ok(challenge.to_owned())
    }

    /// Checks a notification's signature over its raw body; returns the
    /// account and the number it is for.
    pub async fn whatsapp_hook(
        &self,
        id: AccountId,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(AccountRef, String), HookRefusal> {
        let o = self.whatsapp_hook_account(id).await?;
        let Some(sig) = signature else {
            return Err(HookRefusal::Unsigned);
        };
        if !signature_matches(&o.secrets.app_secret, body, sig) {
            return Err(HookRefusal::BadSecret);
        }
        Ok((
            AccountRef {
                id: o.account.id,
                workspace_id: o.account.workspace_id,
                kind: Channel::Whatsapp,
            },
            o.account.address,
        ))
    }

    /// Takes a verified notification in: each message through the one ingest
    /// path (in order; a redelivered `wamid` is the same message), each
    /// status onto our message. Returns how many messages were new.
    pub async fn whatsapp_inbound(
        &self,
        account: &AccountRef,
        n: Notification,
    ) -> Result<usize, EngineError> {
        let mut new = 0;
        for m in n.messages {
            let got = self
                .ingest(Inbound {
                    account: *account,
                    external_id: m.id,
                    global_id: false,
                    sent_at: Some(Timestamp::from_millis(m.sent_at.saturating_mul(1000))),
                    original: None,
                    content: Content::Message(Box::new(CustomerMessage {
                        sender: Sender {
                            handle: m.from,
                            name: m.name,
                            customer: None,
                        },
                        thread: Thread {
                            conversation: true,
                            external: m.reply_to.into_iter().collect(),
                            ..Thread::default()
                        },
                        text: m.text,
                        remote_files: m.files,
                        ..CustomerMessage::default()
                    })),
                })
                .await?;
            new += usize::from(!got.duplicate);
        }
        for s in n.statuses {
            let state = match s.status.as_str() {
                "sent" => DeliveryState::Sent,
                "delivered" => DeliveryState::Delivered,
                "read" => DeliveryState::Read,
                "failed" => DeliveryState::Failed,
                _ => continue,
            };
            self.report_delivery(
                account.workspace_id,
                DeliveryReport {
                    external: vec![s.id],
                    state: Some(state),
                    reason: s.error.map(crate::messenger::remote),
                    ..DeliveryReport::default()
                },
            )
            .await?;
        }
        Ok(new)
    }

    /// Fetches a message's media through the Cloud API's media endpoint.
    pub(crate) async fn fetch_whatsapp_files(
        &self,
        account: Account,
        files: &[RemoteFile],
        attempts: i64,
    ) -> Result<Fetched, EngineError> {
        let o = self.open_whatsapp(account)?;
        let api = self.whatsapp_api()?;
        let max = self.limits.max_attachment_bytes;
        Ok(crate::remote_files::fetch_each(
            files,
            (self.limits.max_attachments_per_message, max),
            attempts,
            |_| None,
            |f| api.download(o.cloud(), &f.file_id, max),
        )
        .await)
    }

    /// The channel's approved templates, for the composer (every agent).
    pub async fn whatsapp_templates(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<Vec<Template>, EngineError> {
        let o = self.open_whatsapp(self.whatsapp_account(p.workspace_id, id).await?)?;
        let Some(waba) = o.settings.business_account_id.clone() else {
            return Err(EngineError::Conflict(
                Code::WhatsappNoBusinessAccount.into(),
            ));
        };
        self.whatsapp_api()?
            .templates(o.cloud(), &waba)
            .await
            .map_err(|e| EngineError::Upstream(e.description))
    }

    /// The approved templates for a ticket's conversation (its number's).
    pub async fn ticket_templates(
        &self,
        p: &Principal,
        r: crate::tickets::TicketRef,
    ) -> Result<Vec<Template>, EngineError> {
        let t = self.load_ticket(p, r).await?;
        let account = self.ticket_whatsapp_account(&t).await?;
        self.whatsapp_templates(p, account).await
    }

    /// The WhatsApp channel a ticket's conversation is on.
    async fn ticket_whatsapp_account(
        &self,
        t: &store::tickets::Ticket,
    ) -> Result<AccountId, EngineError> {
        let mut c = self.store.read().await?;
        let last_in = channels::last_inbound(&mut c.conn(), t.workspace_id, t.id).await?;
        let id = last_in.map(|r| r.account_id).or(t.account_id);
        match id {
            Some(id) if t.channel == Channel::Whatsapp => Ok(id),
            _ => Err(EngineError::Rule(Code::TemplatesForWhatsapp.into())),
        }
    }

    /// Sends an approved template into a ticket's WhatsApp conversation (the
    /// one reply WhatsApp takes outside the 24-hour window). The template must
    /// be approved for the number's business account now, with as many
    /// parameters as its body takes; the thread shows the text the customer
    /// reads.
    pub async fn send_whatsapp_template(
        &self,
        p: &Principal,
        r: crate::tickets::TicketRef,
        choice: TemplateChoice,
    ) -> Result<crate::tickets::Posted, EngineError> {
        p.require_ticket_work()?;
        let t = self.load_ticket(p, r).await?;
        let account = self.ticket_whatsapp_account(&t).await?;
        let templates = self.whatsapp_templates(p, account).await?;
        let Some(template) = templates
            .iter()
            .find(|x| x.name == choice.name && x.language == choice.language)
        else {
            return Err(EngineError::Unknown(
                "template".into(),
                Message::new(Code::NoTemplate)
                    .with("name", choice.name)
                    .with("language", choice.language),
            ));
        };
        if choice.parameters.len() > 20
            || choice.parameters.iter().any(|x| {
                x.trim().is_empty() || x.chars().count() > 1024 || x.contains(['\n', '\t'])
            })
        {
            return Err(EngineError::invalid("parameters", Code::TemplateParameters));
        }
        if template.parameters() != choice.parameters.len() {
            return Err(EngineError::invalid(
                "parameters",
                Message::new(Code::TemplateParameterCount)
                    .with("parameters", template.parameters()),
            ));
        }
        let text = template.render(&choice.parameters);
        let template =
            serde_json::to_value(&choice).map_err(|e| EngineError::Internal(e.to_string()))?;
        self.add_message(
            p,
            crate::tickets::TicketRef::Id(t.id),
            crate::tickets::NewMessage {
                body: crate::tickets::Body {
                    text,
                    ..crate::tickets::Body::default()
                },
                visibility: domain::ticket::Visibility::Public,
                as_customer: false,
                status: None,
                external_id: None,
                imported: false,
                template: Some(template),
            },
            None,
        )
        .await
    }

    /// When a ticket's WhatsApp window closes (`None`: the customer never
    /// wrote, so only templates may be sent).
    pub async fn whatsapp_window(
        &self,
        p: &Principal,
        ticket: TicketId,
    ) -> Result<Option<Timestamp>, EngineError> {
        let mut c = self.store.read().await?;
        let wrote =
            store::tickets::last_customer_message_at(&mut c.conn(), p.workspace_id, ticket).await?;
        Ok(wrote.and_then(|w| {
            Channel::Whatsapp
                .reply_window_ms()
                .map(|ms| w.plus_millis(ms))
        }))
    }

    /// Sends a reply through the number its conversation came in on: text in
    /// parts, then each file (uploaded, then sent); a template message as
    /// itself. Parts already sent are skipped on a retry.
    pub(crate) async fn deliver_whatsapp(
        &self,
        out: &crate::outbound::Outgoing,
    ) -> Result<Delivery, EngineError> {
        let target = match self.reply_target(out, Channel::Whatsapp).await? {
            Ok(t) => t,
            Err(failed) => return Ok(failed),
        };
        let to = target.address.clone();
        let o = match self.open_whatsapp(target.account) {
            Ok(o) => o,
            Err(e) => {
                return Ok(Delivery::Failed(
                    Message::new(Code::DeliveryUnusable)
                        .label("kind", "channel", "whatsapp")
                        .with("reason", e),
                ));
            }
        };
        let api = self.whatsapp_api()?;
        let mut parts: Vec<Part> = match &out.template {
            Some(t) => {
                let t: TemplateChoice = serde_json::from_value(t.clone())
                    .map_err(|e| EngineError::Internal(format!("a stored template: {e}")))?;
                vec![Part::Send(Outgoing::Template {
                    name: t.name,
                    language: t.language,
                    parameters: t.parameters,
                })]
            }
            None => crate::messenger::split_text(&out.message.body_text, MAX_TEXT)
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Part::Send(Outgoing::Text(t)))
                .collect(),
        };
        if let Some(b) = &out.buttons
            && let Some(Part::Send(last)) = parts.last_mut()
            && let Outgoing::Text(text) = last
            && text.chars().count() <= MAX_INTERACTIVE_TEXT
        {
            *last = Outgoing::Link {
                text: std::mem::take(text),
                label: b.single.label.chars().take(MAX_BUTTON_LABEL).collect(),
                url: b.single.url.clone(),
            };
        }
        parts.extend(out.message.attachments.iter().map(Part::File));
        for (n, part) in parts.iter().enumerate().skip(target.sent) {
            let sent = match part {
                Part::Send(m) => api.send(o.cloud(), &to, m).await,
                Part::File(a) => {
                    let file = self.out_file(a).await?;
                    match api.upload(o.cloud(), &file).await {
                        Ok(media_id) => {
                            let kind = media_kind(&a.content_type);
                            let m = Outgoing::Media {
                                kind,
                                media_id,
                                filename: a.filename.clone(),
                            };
                            api.send(o.cloud(), &to, &m).await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            let wamid = match sent {
                Ok(id) => id,
                Err(e) => return Ok(remote_delivery(e)),
            };
            self.record_part(out, o.account.id, wamid, n, &to).await?;
        }
        Ok(Delivery::Sent)
    }
}

enum Part<'a> {
    Send(Outgoing),
    File(&'a store::tickets::Attachment),
}

/// What the refusal of a second channel for the same number names.
const TAKEN: &str = "number";

/// How WhatsApp shows a file of this type (what it does not take as an image,
/// audio or video goes as a document).
fn media_kind(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" | "image/png" => "image",
        "audio/aac" | "audio/mp4" | "audio/mpeg" | "audio/amr" | "audio/ogg" => "audio",
        "video/mp4" | "video/3gpp" => "video",
        _ => "document",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_over_the_raw_body() {
        // printf '%s' '{"a":1}' | openssl dgst -sha256 -hmac secret
        let hex = "aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494";
        let body = br#"{"a":1}"#;
        assert!(signature_matches("secret", body, &format!("sha256={hex}")));
        assert!(signature_matches(
            "secret",
            body,
            &format!("sha256={}", hex.to_uppercase())
        ));
        assert!(!signature_matches(
            "secret",
            br#"{"a":2}"#,
            &format!("sha256={hex}")
        ));
        assert!(!signature_matches("other", body, &format!("sha256={hex}")));
        assert!(!signature_matches("secret", body, hex));
        assert!(!signature_matches("secret", body, "sha256="));
    }

    #[test]
    fn templates_count_and_fill_their_parameters() {
        let t = Template {
            name: "order_update".into(),
            language: "ru".into(),
            category: "UTILITY".into(),
            body: "Здравствуйте, {{1}}! Заказ {{2}} передан в доставку.".into(),
        };
        assert_eq!(t.parameters(), 2);
        assert_eq!(
            t.render(&["Анна".into(), "5531".into()]),
            "Здравствуйте, Анна! Заказ 5531 передан в доставку."
        );
        assert_eq!(media_kind("application/pdf"), "document");
        assert_eq!(media_kind("image/png"), "image");
    }
}
