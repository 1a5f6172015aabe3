//! Telegram channels: a bot (a channel account of kind `telegram`, addressed by
//! the bot's id) whose updates reach the inbox through a webhook, and whose
//! replies leave through the Bot API.
//!
//! The wire side (the Bot API's JSON, HTTP) lives in the channels crate behind
//! [`TelegramApi`]; here are the rules. Creating a channel checks the token
//! (`getMe`) and points the bot's webhook at `{public_url}/hooks/telegram/{id}`
//! with a secret that Telegram echoes in every update. An update is accepted
//! only with that secret and goes through the one ingest path at once (its
//! record of `chat:message` ids makes a redelivered update the same message,
//! and the conversation keeps the order the messages came in); its files are
//! fetched afterwards by a job, so the webhook never waits on Telegram. Replies are sent as HTML with everything escaped, so an
//! agent's `<b>` or `*` is shown as typed and never refused as bad markup;
//! each part sent is recorded, so a retry after a rate limit sends only what
//! is missing.
//!
//! Invariants: the bot token and the webhook secret are stored sealed and
//! never returned; an update without the secret stores nothing.

use crate::ingest::{AccountRef, Content, CustomerMessage, Inbound, Sender, Thread};
pub use crate::messenger::{HookRefusal, OutFile, RemoteError, remote_delivery};
use crate::messenger::{LinkButton, NewAccount, parse_base, same_secret, settings_of};
use crate::outbound::{Delivery, Outgoing};
use crate::remote_files::Fetched;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::ids::*;
use domain::ticket::Channel;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::channels::{self, Account};

/// The Bot API's own address; a channel may name another (a local Bot API
/// server, or a stand-in in tests).
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// Longest text of one Telegram message, in characters.
pub const MAX_TEXT: usize = 4096;
/// Largest file a bot may download.
pub const MAX_FILE: usize = 20 * 1024 * 1024;

/// A file an update names, fetched after the message is in.
pub use crate::ingest::RemoteFile as FileRef;

/// What a private message brings to the inbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A bot: where its API is and its token.
#[derive(Clone, Copy, Debug)]
pub struct Bot<'a> {
    pub base: &'a str,
    pub token: &'a str,
}

/// The bot's own account, as `getMe` tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotInfo {
    pub id: i64,
    pub username: Option<String>,
    pub name: String,
}

/// The Bot API, as the engine needs it (implemented over HTTP by the
/// channels crate; every call bounded in time and size there).
pub trait TelegramApi: Send + Sync {
    /// `getMe`: checks the token.
    fn get_me<'a>(&'a self, bot: Bot<'a>) -> BoxFuture<'a, Result<BotInfo, RemoteError>>;
    /// `setWebhook` with a secret token, message updates only.
    fn set_webhook<'a>(
        &'a self,
        bot: Bot<'a>,
        url: &'a str,
        secret: &'a str,
    ) -> BoxFuture<'a, Result<(), RemoteError>>;
    /// `deleteWebhook`.
    fn delete_webhook<'a>(&'a self, bot: Bot<'a>) -> BoxFuture<'a, Result<(), RemoteError>>;
    /// `sendMessage` with `parse_mode` HTML, and an inline keyboard of URL
    /// buttons when there are any; returns the message's id.
    fn send_html<'a>(
        &'a self,
        bot: Bot<'a>,
        chat_id: i64,
        html: &'a str,
        buttons: &'a [LinkButton],
    ) -> BoxFuture<'a, Result<i64, RemoteError>>;
    /// `sendPhoto` for images, else `sendDocument`; returns the message's id.
    fn send_file<'a>(
        &'a self,
        bot: Bot<'a>,
        chat_id: i64,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<i64, RemoteError>>;
    /// `getFile`, then the bytes (at most [`MAX_FILE`]).
    fn download<'a>(
        &'a self,
        bot: Bot<'a>,
        file_id: &'a str,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>>;
}

/// Text as Telegram's HTML mode shows it literally.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A bot token: the bot's id, a colon, the secret part.
fn parse_token(token: &str) -> Result<i64, EngineError> {
    let bad = || EngineError::invalid("bot_token", Code::BotToken);
    let (id, rest) = token.split_once(':').ok_or_else(bad)?;
    if id.is_empty()
        || id.len() > 18
        || !id.bytes().all(|b| b.is_ascii_digit())
        || rest.is_empty()
        || rest.len() > 200
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad());
    }
    id.parse().map_err(|_| bad())
}

/// The bot's credentials as sealed in the account.
#[derive(Serialize, Deserialize)]
struct Secrets {
    bot_token: String,
    webhook_secret: String,
}

/// What the account's settings keep.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    api_base_url: String,
    bot_username: Option<String>,
    bot_name: Option<String>,
    /// The team that takes the bot's new conversations (read by ingest).
    #[serde(default)]
    team_id: Option<TeamId>,
}

/// A Telegram channel as admins see it (never its token).
#[derive(Clone, Debug)]
pub struct TelegramChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub bot_id: i64,
    pub bot_username: Option<String>,
    pub api_base_url: String,
    /// Where Telegram delivers the bot's updates.
    pub webhook_url: Option<String>,
    /// The team that takes new conversations.
    pub team_id: Option<TeamId>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new Telegram channel, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct TelegramInput {
    pub name: Option<String>,
    pub bot_token: Option<String>,
    pub api_base_url: Option<String>,
    pub active: Option<bool>,
    /// `Some(None)` clears it.
    pub team_id: Option<Option<TeamId>>,
}

/// The bot and its webhook secret, opened.
type Opened = crate::messenger::Opened<Secrets, Settings>;

impl Opened {
    fn bot(&self) -> Bot<'_> {
        Bot {
            base: &self.settings.api_base_url,
            token: &self.secrets.bot_token,
        }
    }
}

impl Engine {
    fn telegram_api(&self) -> Result<&dyn TelegramApi, EngineError> {
        self.telegram
            .as_deref()
            .ok_or_else(|| EngineError::Internal("no Telegram transport installed".into()))
    }

    fn open_telegram(&self, a: Account) -> Result<Opened, EngineError> {
        self.open_account(a)
    }

    fn telegram_view(&self, a: Account) -> Result<TelegramChannel, EngineError> {
        let settings: Settings = settings_of(&a)?;
        Ok(TelegramChannel {
            webhook_url: self.hook_url(Channel::Telegram, a.id),
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            bot_id: a.address.parse().unwrap_or_default(),
            bot_username: settings.bot_username,
            api_base_url: settings.api_base_url,
            team_id: settings.team_id,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Connects a bot: checks its token, points its webhook here with a new
    /// secret, and keeps the channel. Needs `public_url` (Telegram must reach
    /// this server); a bot already connected to any workspace is refused.
    pub async fn create_telegram_channel(
        &self,
        p: &Principal,
        input: TelegramInput,
    ) -> Result<TelegramChannel, EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(input.name, "name", 100)?;
        let token = input
            .bot_token
            .ok_or_else(|| EngineError::invalid("bot_token", Code::Required))?;
        let bot_id = parse_token(&token)?;
        let base = parse_base(input.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE))?;
        let team_id = input.team_id.flatten();
        self.check_channel_team(p, team_id).await?;
        let id = AccountId::new();
        let url = self.hook_url(Channel::Telegram, id).ok_or_else(|| {
            EngineError::Conflict(
                Message::new(Code::PublicUrlUnset).label("channel", "channel", "telegram"),
            )
        })?;
        if self
            .address_taken(Channel::Telegram, &bot_id.to_string())
            .await?
        {
            return Err(EngineError::Conflict(crate::messenger::taken(TAKEN)));
        }
        let secret = crate::auth::new_secret("");
        let active = input.active.unwrap_or(true);
        let bot = Bot {
            base: &base,
            token: &token,
        };
        let api = self.telegram_api()?;
        let me = api.get_me(bot).await.map_err(refused)?;
        if active {
            api.set_webhook(bot, &url, &secret).await.map_err(refused)?;
        }
        let sealed = self.seal_json(&Secrets {
            bot_token: token,
            webhook_secret: secret,
        })?;
        let settings = Settings {
            api_base_url: base,
            bot_username: me.username,
            bot_name: Some(me.name),
            team_id,
        };
        let a = self
            .insert_channel(
                p,
                NewAccount {
                    id,
                    kind: Channel::Telegram,
                    name,
                    address: bot_id.to_string(),
                    inbound_kind: "webhook",
                    secrets: sealed,
                    settings: json!(settings),
                    active,
                },
                TAKEN,
            )
            .await?;
        self.telegram_view(a)
    }

    pub async fn telegram_channels(
        &self,
        p: &Principal,
    ) -> Result<Vec<TelegramChannel>, EngineError> {
        self.channel_accounts(p, Channel::Telegram)
            .await?
            .into_iter()
            .map(|a| self.telegram_view(a))
            .collect()
    }

    async fn telegram_account(&self, p: &Principal, id: AccountId) -> Result<Account, EngineError> {
        p.require_admin()?;
        self.channel_account(p.workspace_id, id, Channel::Telegram)
            .await
    }

    pub async fn telegram_channel(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<TelegramChannel, EngineError> {
        let a = self.telegram_account(p, id).await?;
        self.telegram_view(a)
    }

    /// Changes a channel. A new token must be the same bot's (another bot is
    /// another channel); a new token or API base, or turning the channel on,
    /// sets the webhook again with a new secret; turning it off deletes the
    /// webhook, so Telegram keeps the updates until it is on again.
    pub async fn update_telegram_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: TelegramInput,
    ) -> Result<TelegramChannel, EngineError> {
        let current = self.open_telegram(self.telegram_account(p, id).await?)?;
        let name = match input.name {
            Some(n) => crate::chat::required_line(Some(n), "name", 100)?,
            None => current.account.name.clone(),
        };
        let token = match input.bot_token {
            Some(t) => {
                if parse_token(&t)?.to_string() != current.account.address {
                    return Err(EngineError::invalid("bot_token", Code::OtherBot));
                }
                t
            }
            None => current.secrets.bot_token.clone(),
        };
        let base = match &input.api_base_url {
            Some(b) => parse_base(b)?,
            None => current.settings.api_base_url.clone(),
        };
        let active = input.active.unwrap_or(current.account.active);
        let team_id = input.team_id.unwrap_or(current.settings.team_id);
        self.check_channel_team(p, team_id).await?;
        let reconnect = token != current.secrets.bot_token
            || base != current.settings.api_base_url
            || (active && !current.account.active);
        let bot = Bot {
            base: &base,
            token: &token,
        };
        let api = self.telegram_api()?;
        let mut secret = current.secrets.webhook_secret.clone();
        let mut settings = current.settings.clone();
        if reconnect {
            let me = api.get_me(bot).await.map_err(refused)?;
            settings.bot_username = me.username;
            settings.bot_name = Some(me.name);
            if active {
                let url = self
                    .hook_url(Channel::Telegram, id)
                    .ok_or_else(|| EngineError::Conflict(Code::PublicUrlMissing.into()))?;
                secret = crate::auth::new_secret("");
                api.set_webhook(bot, &url, &secret).await.map_err(refused)?;
            }
        } else if !active && current.account.active {
            api.delete_webhook(bot).await.map_err(refused)?;
        }
        settings.api_base_url = base.clone();
        settings.team_id = team_id;
        let sealed = self.seal_json(&Secrets {
            bot_token: token,
            webhook_secret: secret,
        })?;
        let a = self
            .save_channel(p, id, (name, active), Some(sealed), json!(settings))
            .await?;
        self.telegram_view(a)
    }

    /// Checks an update's secret (`X-Telegram-Bot-Api-Secret-Token`) against
    /// the channel's, in constant time. The channel is found by the id in
    /// the webhook's path across workspaces: the secret is what proves the
    /// caller is Telegram, as a token names its workspace.
    pub async fn telegram_hook(
        &self,
        id: AccountId,
        secret: Option<&str>,
    ) -> Result<AccountRef, HookRefusal> {
        let a = self.hook_account(id, Channel::Telegram).await?;
        let Some(given) = secret else {
            return Err(HookRefusal::Unsigned);
        };
        let opened = self.open_telegram(a).map_err(|e| {
            tracing::error!(error = %e, "a telegram channel's credentials cannot be opened");
            HookRefusal::Unknown
        })?;
        if !same_secret(given, &opened.secrets.webhook_secret) {
            return Err(HookRefusal::BadSecret);
        }
        Ok(AccountRef {
            id: opened.account.id,
            workspace_id: opened.account.workspace_id,
            kind: Channel::Telegram,
        })
    }

    /// Takes a verified update's message in through the one ingest path: a
    /// redelivered update finds its record and is the same message. Its
    /// files are fetched afterwards (`Job::FetchFiles`, queued in the same
    /// write), so the webhook answers without waiting on Telegram and the
    /// conversation keeps the order the messages came in.
    pub async fn telegram_inbound(
        &self,
        account: &AccountRef,
        u: Received,
    ) -> Result<crate::ingest::Ingested, EngineError> {
        // `/start` is what Telegram sends when someone opens the bot: from an
        // agent with a link code it connects their notifications; from a
        // customer it is only the door opening, not a question.
        if u.edited_at.is_none()
            && let Some(rest) = u.text.trim().strip_prefix("/start")
            && (rest.is_empty() || rest.starts_with(' '))
        {
            let linked = match self.link_agent(account, rest.trim(), u.chat_id).await? {
                Some(_) => "an agent's notifications linked".to_owned(),
                None => "the bot's start command".to_owned(),
            };
            return self
                .ingest(Inbound {
                    account: *account,
                    external_id: format!("{}:{}", u.chat_id, u.message_id),
                    global_id: false,
                    sent_at: Some(Timestamp::from_millis(u.sent_at.saturating_mul(1000))),
                    original: None,
                    content: Content::Ignored(linked),
                })
                .await;
        }
        let mut thread = Thread {
            conversation: true,
            ..Thread::default()
        };
        let mut text = u.text;
        if u.edited_at.is_some() {
            // What the customer now says, beside what they said.
            thread.external = vec![format!("{}:{}", u.chat_id, u.message_id)];
            text = format!("✎ {text}");
        }
        self.ingest(Inbound {
            account: *account,
            external_id: format!("{}:{}", u.chat_id, u.message_id)
                + &u.edited_at
                    .map(|t| format!(":edit:{t}"))
                    .unwrap_or_default(),
            global_id: false,
            sent_at: Some(Timestamp::from_millis(u.sent_at.saturating_mul(1000))),
            original: None,
            content: Content::Message(Box::new(CustomerMessage {
                sender: Sender {
                    handle: u.chat_id.to_string(),
                    name: u.name,
                    customer: None,
                },
                thread,
                text,
                language: u.language,
                remote_files: u.files,
                ..CustomerMessage::default()
            })),
        })
        .await
    }

    /// A link that connects the agent's Telegram to the workspace's bot for
    /// notifications (`https://t.me/<bot>?start=<code>`, valid for an hour),
    /// or `None` when the workspace has no active bot.
    pub async fn telegram_link_url(&self, p: &Principal) -> Result<Option<String>, EngineError> {
        let user = p.user_id;
        let bots = {
            let mut c = self.store.read().await?;
            channels::list(&mut c.conn(), p.workspace_id, Channel::Telegram).await?
        };
        let Some((a, username)) = bots.into_iter().filter(|a| a.active).find_map(|a| {
            let s: Settings = serde_json::from_value(a.settings.clone()).ok()?;
            Some((a.id, s.bot_username?))
        }) else {
            return Ok(None);
        };
        let until = self.store.now().millis() / 1000 + LINK_TTL_S;
        let code = link_code(&self.secret, a, user, until);
        Ok(Some(format!("https://t.me/{username}?start={code}")))
    }

    /// The agent's linked Telegram chat, if any.
    pub async fn telegram_link(
        &self,
        p: &Principal,
    ) -> Result<Option<store::people::TelegramLink>, EngineError> {
        let user = p.user_id;
        let mut c = self.store.read().await?;
        Ok(store::people::telegram_link(&mut c.conn(), p.workspace_id, user).await?)
    }

    /// Stops the agent's Telegram notifications.
    pub async fn unlink_telegram(&self, p: &Principal) -> Result<(), EngineError> {
        let user = p.user_id;
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::people::unlink_telegram(tx, ws, user).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// Links the chat to the agent a `/start` code names, when the code is
    /// this bot's, unexpired and signed by this server; tells them so.
    async fn link_agent(
        &self,
        account: &AccountRef,
        code: &str,
        chat_id: i64,
    ) -> Result<Option<UserId>, EngineError> {
        let now_s = self.store.now().millis() / 1000;
        let Some(user) = read_link_code(&self.secret, account.id, code, now_s) else {
            return Ok(None);
        };
        let ws = account.workspace_id;
        let account_id = account.id;
        let linked = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let active = store::people::user_by_id(&mut tx.conn(), ws, user)
                        .await?
                        .is_some_and(|u| u.active);
                    if !active {
                        return Ok::<_, EngineError>(false);
                    }
                    let link = store::people::TelegramLink {
                        account_id,
                        chat_id,
                        linked_at: tx.now(),
                    };
                    store::people::link_telegram(tx, ws, user, &link).await?;
                    let now = tx.now();
                    crate::jobs::Job::NotifyTelegram {
                        workspace_id: ws,
                        user_id: user,
                        ticket_id: None,
                        text: "✅ Otklik: notifications will come to this chat.".into(),
                    }
                    .enqueue(tx, now)
                    .await?;
                    Ok(true)
                })
            })
            .await?;
        Ok(linked.then_some(user))
    }

    /// Tells one agent something in their linked Telegram chat (a rule's
    /// `notify`; the link's confirmation): the ticket's number, subject and
    /// address follow the text. An agent without a link is skipped.
    pub(crate) async fn notify_telegram(
        &self,
        ws: WorkspaceId,
        user: UserId,
        ticket: Option<TicketId>,
        text: &str,
    ) -> Result<Delivery, EngineError> {
        let (link, account, ticket) = {
            let mut c = self.store.read().await?;
            let Some(link) = store::people::telegram_link(&mut c.conn(), ws, user).await? else {
                return Ok(Delivery::Failed(Code::DeliveryNotLinked.into()));
            };
            let account = channels::get(&mut c.conn(), ws, link.account_id).await?;
            let ticket = match ticket {
                Some(t) => store::tickets::get(&mut c.conn(), ws, t).await?,
                None => None,
            };
            (link, account, ticket)
        };
        let Some(account) = account.filter(|a| a.active && a.kind == Channel::Telegram) else {
            return Ok(Delivery::Failed(Code::DeliveryAgentBotOff.into()));
        };
        let mut body = escape_html(text);
        if let Some(t) = ticket {
            body.push_str(&format!(
                "\n\n<b>#{} {}</b>",
                t.number,
                escape_html(&t.subject)
            ));
            if let Some(base) = &self.public_url {
                body.push_str(&format!(
                    "\n{}",
                    escape_html(&format!("{base}/app/t/{}", t.number))
                ));
            }
        }
        let body: String = body.chars().take(MAX_TEXT).collect();
        let opened = self.open_telegram(account)?;
        match self
            .telegram_api()?
            .send_html(opened.bot(), link.chat_id, &body, &[])
            .await
        {
            Ok(_) => Ok(Delivery::Sent),
            Err(e) => Ok(remote_delivery(e)),
        }
    }

    /// Fetches files of an inbound message through its bot. A passing
    /// failure retries the job; after a few attempts, or a final refusal
    /// (too large, gone), the files that came are attached and the rest are
    /// named in an internal note.
    pub(crate) async fn fetch_telegram_files(
        &self,
        account: Account,
        files: &[FileRef],
        attempts: i64,
    ) -> Result<Fetched, EngineError> {
        let opened = self.open_telegram(account)?;
        let api = self.telegram_api()?;
        let max = self.limits.max_attachment_bytes.min(MAX_FILE);
        Ok(crate::remote_files::fetch_each(
            files,
            (self.limits.max_attachments_per_message, max),
            attempts,
            |_| None,
            |f| api.download(opened.bot(), &f.file_id),
        )
        .await)
    }

    /// Sends a reply to the Telegram chat its ticket came from: the text in
    /// parts, then each file. Parts already recorded as sent are skipped, so
    /// a retry after a rate limit sends only what is missing.
    pub(crate) async fn deliver_telegram(&self, out: &Outgoing) -> Result<Delivery, EngineError> {
        let target = match self.reply_target(out, Channel::Telegram).await? {
            Ok(t) => t,
            Err(failed) => return Ok(failed),
        };
        let Ok(chat_id) = target.address.parse::<i64>() else {
            return Ok(Delivery::Failed(
                Message::new(Code::DeliveryNoConversation).label("kind", "channel", "telegram"),
            ));
        };
        let opened = match self.open_telegram(target.account) {
            Ok(o) => o,
            Err(e) => {
                return Ok(Delivery::Failed(
                    Message::new(Code::DeliveryUnusable)
                        .label("kind", "channel", "telegram")
                        .with("reason", e),
                ));
            }
        };
        let api = self.telegram_api()?;
        let mut parts: Vec<Part> = crate::messenger::split_text(&out.message.body_text, MAX_TEXT)
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .map(Part::Text)
            .collect();
        parts.extend(out.message.attachments.iter().map(Part::File));
        // The buttons go under the last text.
        let last_text = parts.iter().rposition(|p| matches!(p, Part::Text(_)));
        for (n, part) in parts.iter().enumerate().skip(target.sent) {
            let buttons: &[LinkButton] = match &out.buttons {
                Some(b) if Some(n) == last_text => &b.choices,
                _ => &[],
            };
            let result = match part {
                Part::Text(t) => {
                    api.send_html(opened.bot(), chat_id, &escape_html(t), buttons)
                        .await
                }
                Part::File(a) => {
                    let file = self.out_file(a).await?;
                    api.send_file(opened.bot(), chat_id, &file).await
                }
            };
            let tg_id = match result {
                Ok(id) => id,
                Err(e) => return Ok(remote_delivery(e)),
            };
            self.record_part(
                out,
                opened.account.id,
                format!("{chat_id}:{tg_id}"),
                n,
                &target.address,
            )
            .await?;
        }
        Ok(Delivery::Sent)
    }
}

enum Part<'a> {
    Text(String),
    File(&'a store::tickets::Attachment),
}

/// How long a link code is good for, in seconds.
const LINK_TTL_S: i64 = 3600;

/// A code for `/start` (at most 64 characters of `A-Za-z0-9_-`, as Telegram
/// allows): the user, an expiry, and a MAC over both and the bot.
fn link_code(key: &crate::secret::SecretKey, bot: AccountId, user: UserId, until: i64) -> String {
    use base64::Engine as _;
    let until = u32::try_from(until).unwrap_or(u32::MAX).to_be_bytes();
    let mac = key.sign(&[
        b"telegram-link",
        bot.0.as_bytes(),
        user.0.as_bytes(),
        &until,
    ]);
    let mut raw = Vec::with_capacity(36);
    raw.extend_from_slice(user.0.as_bytes());
    raw.extend_from_slice(&until);
    raw.extend_from_slice(&mac[..16]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The user a link code names, when it is this bot's and not expired.
fn read_link_code(
    key: &crate::secret::SecretKey,
    bot: AccountId,
    code: &str,
    now_s: i64,
) -> Option<UserId> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(code)
        .ok()?;
    if raw.len() != 36 {
        return None;
    }
    let user = UserId(uuid::Uuid::from_slice(&raw[..16]).ok()?);
    let until: [u8; 4] = raw[16..20].try_into().ok()?;
    if i64::from(u32::from_be_bytes(until)) < now_s {
        return None;
    }
    let mac = key.sign(&[
        b"telegram-link",
        bot.0.as_bytes(),
        user.0.as_bytes(),
        &until,
    ]);
    let given = &raw[20..];
    (given
        .iter()
        .zip(&mac[..16])
        .fold(0u8, |d, (a, b)| d | (a ^ b))
        == 0)
        .then_some(user)
}

/// What the refusal of a second channel for the same bot names.
const TAKEN: &str = "bot";

/// Telegram refused or could not be reached while an admin connected a bot.
fn refused(e: RemoteError) -> EngineError {
    EngineError::Upstream(e.description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_splits_into_parts_telegram_takes_and_joins_back() {
        let short = "Здравствуйте!\nВаш заказ в пути.";
        assert_eq!(
            crate::messenger::split_text(short, MAX_TEXT),
            vec![short.to_owned()]
        );
        assert!(crate::messenger::split_text("", MAX_TEXT).is_empty());
        let lines: String = (0..2_000).map(|i| format!("строка {i}\n")).collect();
        let parts = crate::messenger::split_text(&lines, MAX_TEXT);
        assert!(parts.len() > 1);
        assert!(parts.iter().all(|p| p.chars().count() <= MAX_TEXT));
        assert!(parts[..parts.len() - 1].iter().all(|p| p.ends_with('\n')));
        assert_eq!(parts.concat(), lines);
        let solid = "я".repeat(MAX_TEXT * 2 + 5);
        let parts = crate::messenger::split_text(&solid, MAX_TEXT);
        assert_eq!(
            parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(),
            vec![MAX_TEXT, MAX_TEXT, 5]
        );
    }

    #[test]
    fn markup_is_escaped_and_tokens_are_checked() {
        assert_eq!(
            escape_html("<b>1 & 2</b> *x* _y_"),
            "&lt;b&gt;1 &amp; 2&lt;/b&gt; *x* _y_"
        );
        assert_eq!(parse_token("123:ABC-d_e").ok(), Some(123));
        for bad in ["", "123", ":abc", "12a:abc", "123:", "123:a b", "123:абв"] {
            assert!(parse_token(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_base("http://127.0.0.1:9/").ok().as_deref(),
            Some("http://127.0.0.1:9")
        );
        for bad in [
            "ftp://x",
            "api.telegram.org",
            "https://u:p@x",
            "https://x/?a=1",
        ] {
            assert!(parse_base(bad).is_err(), "{bad:?}");
        }
    }
}
