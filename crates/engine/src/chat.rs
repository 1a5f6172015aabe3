//! Live chat: widget channels (a channel account of kind `chat`, addressed by
//! its public widget key), the visitors who talk through them, and what a
//! visitor may do — write (through the one ingest path, idempotent on the
//! client's message id), read the public messages of their own conversations,
//! mark them read, and say who they are.
//!
//! Invariants: a visitor is found only by the hash of their token, on the
//! widget's own account; they read public messages of their own conversations
//! only (a verified visitor: of their customer's conversations on this widget),
//! never internal notes, never another visitor's. A visitor who gives an
//! address is linked to the customer who has it (an anonymous visitor's
//! customer is merged into that one); a visitor the site vouches for (HMAC of
//! its user id with the widget's identity secret) is that user's customer.

use crate::customers::{CustomerInput, add_claims, resolve, suggest};
use crate::ingest::{Content, CustomerMessage, Inbound, Ingested, Sender, Thread};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use domain::chat::{PrechatKind, WidgetSettings};
use domain::event::{Actor, EventData};
use domain::identity::{Identity, IdentityKind, normalize_language, normalize_name};
use domain::ids::*;
use domain::message;
use domain::ticket::{AuthorKind, Channel, DeliveryState, Visibility};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use store::channels::{self, Account};
use store::chat as db;
pub use store::chat::Visitor;
use store::customers::{self, Customer};
use store::tickets::Message;

/// Most visitor messages one page of `visitor_messages` returns.
pub const MAX_PAGE: i64 = 200;

/// A widget channel as admins see it.
#[derive(Clone, Debug)]
pub struct ChatChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// The public key the widget and apps name the channel by (`wk_…`).
    pub widget_key: String,
    pub settings: WidgetSettings,
    pub active: bool,
    pub identity_secret_set: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new widget channel, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct ChatInput {
    pub name: Option<String>,
    pub settings: Option<WidgetSettings>,
    pub active: Option<bool>,
    /// Issues a new identity secret; the old one stops verifying at once.
    pub rotate_identity_secret: bool,
}

/// The widget as the public sees it (resolved from its key).
#[derive(Clone, Debug)]
pub struct Widget {
    pub account: crate::ingest::AccountRef,
    pub workspace_name: String,
    pub name: String,
    pub settings: WidgetSettings,
    identity_secret: Option<Vec<u8>>,
}

/// What the widget shows before anyone writes.
#[derive(Clone, Debug)]
pub struct WidgetStatus {
    /// Agents who are available now.
    pub agents_online: i64,
    /// The median time to a first agent reply in chats of the last seven days.
    pub expected_wait_s: Option<i64>,
}

/// A visitor as they introduce themselves.
#[derive(Clone, Debug, Default)]
pub struct NewVisitor {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub lang: Option<String>,
    /// The site's user id and its HMAC-SHA256 (hex) with the identity secret.
    pub identity: Option<(String, String)>,
    pub page_url: Option<String>,
    pub page_title: Option<String>,
}

/// What a visitor sends.
#[derive(Clone, Debug)]
pub struct VisitorMessage {
    /// Chosen by the client: the same id again is the same message.
    pub client_id: String,
    pub text: String,
    /// Files the visitor uploaded (`Engine::upload` as the visitor).
    pub attachments: Vec<(String, String, bytes::Bytes)>,
}

/// A message as a visitor sees it.
#[derive(Clone, Debug)]
pub struct VisibleMessage {
    pub message: Message,
    /// `visitor` (this visitor or their customer), `agent` or `bot`.
    pub author: &'static str,
    /// The agent's name; the visitor's own name for theirs.
    pub author_name: Option<String>,
    /// Replies the visitor may tap (the bot's "did this help?": yes, no).
    pub quick_replies: &'static [&'static str],
    /// The satisfaction survey the message asks, for score buttons.
    pub survey: Option<SurveyAsk>,
}

/// A survey asked in a conversation, as the widget shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyAsk {
    /// The survey's public page (`/s/{token}`); a form POST of `score` there
    /// answers it.
    pub link: String,
    pub low: i64,
    pub high: i64,
    /// The visitor's answer so far.
    pub score: Option<i64>,
}

/// The site's proof that a visitor is its user `user_id`, as the widget's
/// docs tell sites to compute it.
pub fn identity_hmac(secret: &[u8], user_id: &str) -> Result<String, EngineError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .map_err(|e| EngineError::Internal(format!("identity secret: {e}")))?;
    mac.update(user_id.as_bytes());
    Ok(hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// A one-line text field: absent is `None`; given, it must keep something
/// after cleaning and be at most `max` characters.
fn optional_line(
    v: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, EngineError> {
    let Some(v) = v else { return Ok(None) };
    let v = domain::text::clean_line(&v);
    if v.is_empty() {
        return Err(EngineError::invalid(field, Code::NotEmpty));
    }
    if v.chars().count() > max {
        return Err(EngineError::invalid(field, message::max_chars(max)));
    }
    Ok(Some(v))
}

/// A one-line text field that must be given.
pub(crate) fn required_line(
    v: Option<String>,
    field: &str,
    max: usize,
) -> Result<String, EngineError> {
    optional_line(v, field, max)?.ok_or_else(|| EngineError::invalid(field, Code::Required))
}

/// The snippet a site pastes before `</body>`.
pub fn snippet(origin: &str, widget_key: &str) -> String {
    format!("<script src=\"{origin}/widget/v1/{widget_key}/loader.js\" async></script>")
}

impl Engine {
    fn chat_view(&self, a: Account) -> Result<ChatChannel, EngineError> {
        let settings: WidgetSettings = serde_json::from_value(a.settings.clone())
            .map_err(|e| EngineError::Internal(format!("chat channel {}: {e}", a.id)))?;
        Ok(ChatChannel {
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            widget_key: a.address,
            settings,
            active: a.active,
            identity_secret_set: a.secrets.is_some(),
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Creates a widget channel; returns it with its identity secret, shown
    /// this once.
    async fn check_widget_team(
        &self,
        p: &Principal,
        s: &WidgetSettings,
    ) -> Result<(), EngineError> {
        self.check_channel_team(p, s.team_id).await
    }

    /// A team a channel sends its new conversations to must be the workspace's.
    pub(crate) async fn check_channel_team(
        &self,
        p: &Principal,
        team: Option<TeamId>,
    ) -> Result<(), EngineError> {
        if let Some(t) = team {
            self.team(p, t)
                .await
                .map_err(|_| EngineError::Unknown("team_id".into(), message::no_such("team")))?;
        }
        Ok(())
    }

    pub async fn create_chat_channel(
        &self,
        p: &Principal,
        input: ChatInput,
    ) -> Result<(ChatChannel, String), EngineError> {
        p.require_admin()?;
        let name = optional_line(input.name, "name", 100)?
            .ok_or_else(|| EngineError::invalid("name", Code::Required))?;
        let settings = input.settings.unwrap_or_default().validated()?;
        self.check_widget_team(p, &settings).await?;
        let secret = crate::auth::new_secret("");
        let sealed = self.secret.seal(secret.as_bytes());
        let key = crate::auth::new_secret("wk_");
        let (ws, actor) = (p.workspace_id, p.actor());
        let a = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let a = Account {
                        id: AccountId::new(),
                        workspace_id: ws,
                        kind: Channel::Chat,
                        name,
                        address: key,
                        inbound_kind: "widget".into(),
                        inbound: json!({}),
                        outbound: None,
                        secrets: Some(sealed),
                        settings: json!(settings),
                        state: json!({}),
                        active: input.active.unwrap_or(true),
                        created_at: now,
                        updated_at: now,
                    };
                    channels::insert(tx, &a).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::ChannelCreated {
                            account_id: a.id,
                            channel: Channel::Chat,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(a)
                })
            })
            .await?;
        Ok((self.chat_view(a)?, secret))
    }

    pub async fn chat_channels(&self, p: &Principal) -> Result<Vec<ChatChannel>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        channels::list(&mut c.conn(), p.workspace_id, Channel::Chat)
            .await?
            .into_iter()
            .map(|a| self.chat_view(a))
            .collect()
    }

    pub async fn chat_channel(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<ChatChannel, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        match channels::get(&mut c.conn(), p.workspace_id, id).await? {
            Some(a) if a.kind == Channel::Chat => self.chat_view(a),
            _ => Err(EngineError::NotFound),
        }
    }

    /// Changes a widget channel; with `rotate_identity_secret`, also returns the
    /// new secret (shown this once).
    pub async fn update_chat_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: ChatInput,
    ) -> Result<(ChatChannel, Option<String>), EngineError> {
        let current = self.chat_channel(p, id).await?;
        let name = match input.name {
            Some(n) => optional_line(Some(n), "name", 100)?
                .ok_or_else(|| EngineError::invalid("name", Code::NotEmpty))?,
            None => current.name.clone(),
        };
        let settings = match input.settings {
            Some(s) => s.validated()?,
            None => current.settings.clone(),
        };
        self.check_widget_team(p, &settings).await?;
        let secret = input
            .rotate_identity_secret
            .then(|| crate::auth::new_secret(""));
        let sealed = secret.as_ref().map(|s| self.secret.seal(s.as_bytes()));
        let (ws, actor) = (p.workspace_id, p.actor());
        let active = input.active.unwrap_or(current.active);
        let a = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let mut a = channels::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    a.name = name;
                    a.settings = json!(settings);
                    a.active = active;
                    if let Some(s) = sealed {
                        a.secrets = Some(s);
                    }
                    a.updated_at = tx.now();
                    channels::update(tx, &a).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::ChannelUpdated {
                            account_id: a.id,
                            channel: Channel::Chat,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(a)
                })
            })
            .await?;
        Ok((self.chat_view(a)?, secret))
    }

    /// The active widget a key names, for anyone.
    pub async fn widget(&self, key: &str) -> Result<Widget, EngineError> {
        if !key.starts_with("wk_") || key.len() > 100 {
            return Err(EngineError::NotFound);
        }
        let mut c = self.store.read().await?;
        let a = channels::by_address(&mut c.conn(), Channel::Chat, key)
            .await?
            .filter(|a| a.active)
            .ok_or(EngineError::NotFound)?;
        let ws = store::workspaces::by_id(&mut c.conn(), a.workspace_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let identity_secret = match &a.secrets {
            Some(s) => Some(
                self.secret
                    .open(s)
                    .map_err(|e| EngineError::Internal(format!("chat channel {}: {e}", a.id)))?,
            ),
            None => None,
        };
        let view = self.chat_view(a)?;
        Ok(Widget {
            account: crate::ingest::AccountRef {
                id: view.id,
                workspace_id: view.workspace_id,
                kind: Channel::Chat,
            },
            workspace_name: ws.name,
            name: view.name,
            settings: view.settings,
            identity_secret,
        })
    }

    /// Whether anyone is there to answer, and how long answers take.
    pub async fn widget_status(&self, w: &Widget) -> Result<WidgetStatus, EngineError> {
        let mut c = self.store.read().await?;
        let ws = w.account.workspace_id;
        let agents_online = db::agents_online(&mut c.conn(), ws).await?;
        let since = self.now().plus_millis(-7 * 86_400_000);
        let mut waits = db::first_reply_waits(&mut c.conn(), ws, w.account.id, since).await?;
        waits.sort_unstable();
        let expected_wait_s = (!waits.is_empty()).then(|| waits[waits.len() / 2] / 1000);
        Ok(WidgetStatus {
            agents_online,
            expected_wait_s,
        })
    }

    /// A new visitor and their token (shown this once). A visitor the site
    /// vouches for is its user's customer; one who gives an address is the
    /// customer who has it; anyone else is a new anonymous customer.
    pub async fn create_visitor(
        &self,
        w: &Widget,
        v: NewVisitor,
    ) -> Result<(Visitor, String), EngineError> {
        let name = optional_line(v.name, "name", 200)?;
        let lang = v.lang.as_deref().map(normalize_language).transpose()?;
        let email = v
            .email
            .as_deref()
            .map(|e| Identity::parse(IdentityKind::Email, e))
            .transpose()?;
        let phone = v
            .phone
            .as_deref()
            .map(|e| Identity::parse(IdentityKind::Phone, e))
            .transpose()?;
        for f in &w.settings.prechat {
            let given = match f.field {
                PrechatKind::Name => name.is_some(),
                PrechatKind::Email => email.is_some(),
                PrechatKind::Phone => phone.is_some(),
            };
            if f.required && !given {
                return Err(EngineError::invalid(f.field.as_str(), Code::Required));
            }
        }
        let user_id = match v.identity {
            Some((user_id, mac)) => Some(self.verify_identity(w, &user_id, &mac)?),
            None => None,
        };
        let page_url = optional_line(v.page_url, "page_url", 2000)?;
        let page_title = optional_line(v.page_title, "page_title", 300)?;
        let token = crate::auth::new_secret("vt_");
        let hash = crate::auth::secret_hash(&token);
        let account = w.account;
        let visitor = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let ws = account.workspace_id;
                    let now = tx.now();
                    let id = VisitorId::new();
                    // A typed address or number is a claim: it never joins the
                    // visitor to the profile that has it (agents get a suggestion).
                    let claims: Vec<Identity> = email.iter().chain(phone.iter()).cloned().collect();
                    let customer_id = match &user_id {
                        Some(u) => {
                            let input = CustomerInput {
                                name: name.clone(),
                                language: lang.clone(),
                                identities: vec![Identity::parse(IdentityKind::External, u)?],
                                claims,
                                answering: None,
                            };
                            resolve(tx, ws, Actor::System, &input).await?.0
                        }
                        None => {
                            let c =
                                anonymous_customer(tx, ws, id, name.clone(), lang.clone()).await?;
                            claim(tx, ws, c, &claims).await?;
                            c
                        }
                    };
                    let v = Visitor {
                        id,
                        workspace_id: ws,
                        account_id: account.id,
                        customer_id,
                        name,
                        email: email.map(|e| e.value().to_owned()),
                        phone: phone.map(|e| e.value().to_owned()),
                        lang,
                        external_user_id: user_id,
                        page_url,
                        page_title,
                        last_seen_at: now,
                        created_at: now,
                    };
                    db::insert_visitor(tx, &v, &hash).await?;
                    Ok::<_, EngineError>(v)
                })
            })
            .await?;
        Ok((visitor, token))
    }

    fn verify_identity(&self, w: &Widget, user_id: &str, mac: &str) -> Result<String, EngineError> {
        let user_id = user_id.trim();
        if user_id.is_empty() || user_id.chars().count() > 200 {
            return Err(EngineError::invalid(
                "identity.user_id",
                message::chars(1, 200),
            ));
        }
        let refused = || EngineError::Forbidden(Code::IdentitySignature.into());
        let secret = w.identity_secret.as_deref().ok_or_else(refused)?;
        let given = unhex(mac).ok_or_else(refused)?;
        let mut m = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|e| EngineError::Internal(format!("identity secret: {e}")))?;
        m.update(user_id.as_bytes());
        // Constant-time comparison.
        m.verify_slice(&given).map_err(|_| refused())?;
        Ok(user_id.to_owned())
    }

    /// The visitor holding `token` on this widget.
    pub async fn visitor_by_token(&self, w: &Widget, token: &str) -> Result<Visitor, EngineError> {
        if !token.starts_with("vt_") || token.len() > 100 {
            return Err(EngineError::Unauthorized);
        }
        let hash = crate::auth::secret_hash(token);
        let mut c = self.store.read().await?;
        db::visitor_by_token(&mut c.conn(), w.account.id, &hash)
            .await?
            .ok_or(EngineError::Unauthorized)
    }

    /// Changes what a visitor told about themselves or where they are. An
    /// address links them to the customer who has it.
    pub async fn update_visitor(
        &self,
        v: &Visitor,
        changes: NewVisitor,
    ) -> Result<Visitor, EngineError> {
        let name = optional_line(changes.name, "name", 200)?;
        let lang = changes
            .lang
            .as_deref()
            .map(normalize_language)
            .transpose()?;
        let email = changes
            .email
            .as_deref()
            .map(|e| Identity::parse(IdentityKind::Email, e))
            .transpose()?;
        let phone = changes
            .phone
            .as_deref()
            .map(|e| Identity::parse(IdentityKind::Phone, e))
            .transpose()?;
        let page_url = optional_line(changes.page_url, "page_url", 2000)?;
        let page_title = optional_line(changes.page_title, "page_title", 300)?;
        let (ws, id) = (v.workspace_id, v.id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut v = db::visitor(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let claims: Vec<Identity> = email.iter().chain(phone.iter()).cloned().collect();
                    claim(tx, ws, v.customer_id, &claims).await?;
                    if let Some(e) = email {
                        v.email = Some(e.value().to_owned());
                    }
                    if let Some(p) = phone {
                        v.phone = Some(p.value().to_owned());
                    }
                    if let Some(n) = name {
                        v.name = Some(n);
                    }
                    v.lang = lang.or(v.lang);
                    v.page_url = page_url.or(v.page_url);
                    v.page_title = page_title.or(v.page_title);
                    v.last_seen_at = tx.now();
                    db::update_visitor(tx, &v).await?;
                    Ok::<_, EngineError>(v)
                })
            })
            .await
    }

    /// A visitor's message, through the one ingest path: the first opens a
    /// ticket, later ones continue the visitor's newest conversation. The same
    /// `client_id` again answers with the first result (`duplicate`).
    pub async fn visitor_send(
        &self,
        w: &Widget,
        v: &Visitor,
        m: VisitorMessage,
    ) -> Result<Ingested, EngineError> {
        let client_id = m.client_id.trim();
        if client_id.is_empty() || m.client_id.chars().count() > 100 {
            return Err(EngineError::invalid("client_id", message::chars(1, 100)));
        }
        let text = domain::text::clean_body(m.text.trim());
        if text.chars().count() > domain::chat::MAX_MESSAGE {
            return Err(EngineError::invalid(
                "text",
                message::max_chars(domain::chat::MAX_MESSAGE),
            ));
        }
        if text.is_empty() && m.attachments.is_empty() {
            return Err(EngineError::invalid("text", Code::ChatMessageEmpty));
        }
        let current = {
            let mut c = self.store.read().await?;
            self.conversations(&mut c.conn(), v).await?.first().copied()
        };
        let subject: String = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("Chat")
            .chars()
            .take(80)
            .collect();
        let inbound = Inbound {
            account: w.account,
            external_id: format!("{}:{client_id}", v.id),
            global_id: false,
            sent_at: None,
            original: None,
            content: Content::Message(Box::new(CustomerMessage {
                sender: Sender {
                    handle: v.id.to_string(),
                    name: v.name.clone(),
                    customer: Some(v.customer_id),
                },
                thread: Thread {
                    ticket: current,
                    ..Thread::default()
                },
                subject: Some(subject),
                text,
                language: v.lang.clone(),
                attachments: m
                    .attachments
                    .into_iter()
                    .map(
                        |(filename, content_type, bytes)| crate::ingest::InboundAttachment {
                            filename,
                            content_type,
                            content_id: None,
                            inline: false,
                            bytes,
                        },
                    )
                    .collect(),
                ..CustomerMessage::default()
            })),
        };
        self.ingest(inbound).await
    }

    /// The tickets a visitor may read, newest first.
    async fn conversations(
        &self,
        c: &mut store::Conn<'_>,
        v: &Visitor,
    ) -> Result<Vec<TicketId>, EngineError> {
        if v.external_user_id.is_some() {
            // Vouched for by the site: every chat of their customer here.
            return Ok(
                db::customer_conversations(c, v.workspace_id, v.customer_id, v.account_id).await?,
            );
        }
        Ok(db::conversations(c, v.account_id, v.id).await?)
    }

    /// The tickets a visitor may read (live delivery keeps this set).
    pub async fn visitor_conversations(&self, v: &Visitor) -> Result<Vec<TicketId>, EngineError> {
        let mut c = self.store.read().await?;
        self.conversations(&mut c.conn(), v).await
    }

    /// The public messages of a visitor's conversations after `after`, oldest
    /// first, with who wrote them as the visitor may know it.
    pub async fn visitor_messages(
        &self,
        v: &Visitor,
        after: Option<MessageId>,
        limit: i64,
    ) -> Result<Vec<VisibleMessage>, EngineError> {
        let mut c = self.store.read().await?;
        let tickets = self.conversations(&mut c.conn(), v).await?;
        let rows = db::visible_messages(
            &mut c.conn(),
            v.workspace_id,
            &tickets,
            after,
            limit.clamp(1, MAX_PAGE),
        )
        .await?;
        let user_ids: Vec<UserId> = rows.iter().filter_map(|m| m.author_user_id).collect();
        let names = db::user_names(&mut c.conn(), v.workspace_id, &user_ids).await?;
        drop(c);
        let bots: Vec<MessageId> = rows
            .iter()
            .filter(|m| m.author_kind == AuthorKind::Bot)
            .map(|m| m.id)
            .collect();
        let mut asks = self.surveys_of_messages(v.workspace_id, &bots).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let ask = asks.remove(&m.id).map(|s| self.survey_ask(&s));
                let mut out = visible(v, m, &names);
                out.survey = ask;
                out
            })
            .collect())
    }

    /// One message a visitor may read, for live delivery; `None` when it is not
    /// theirs to read (an internal note, another conversation).
    pub async fn visitor_message(
        &self,
        v: &Visitor,
        id: MessageId,
    ) -> Result<Option<VisibleMessage>, EngineError> {
        let mut c = self.store.read().await?;
        let Some(m) = store::tickets::message(&mut c.conn(), v.workspace_id, id).await? else {
            return Ok(None);
        };
        if m.visibility != Visibility::Public
            || !self
                .conversations(&mut c.conn(), v)
                .await?
                .contains(&m.ticket_id)
        {
            return Ok(None);
        }
        let names = match m.author_user_id {
            Some(u) => db::user_names(&mut c.conn(), v.workspace_id, &[u]).await?,
            None => Default::default(),
        };
        drop(c);
        let survey = if m.author_kind == AuthorKind::Bot {
            self.survey_of_message(v.workspace_id, m.id)
                .await?
                .map(|s| self.survey_ask(&s))
        } else {
            None
        };
        let mut out = visible(v, m, &names);
        out.survey = survey;
        Ok(Some(out))
    }

    /// A file of a message the visitor may read (theirs or an agent's reply).
    pub async fn visitor_attachment(
        &self,
        v: &Visitor,
        id: AttachmentId,
    ) -> Result<(store::tickets::Attachment, Vec<u8>), EngineError> {
        let a = {
            let mut c = self.store.read().await?;
            let a = store::tickets::attachment(&mut c.conn(), v.workspace_id, id)
                .await?
                .ok_or(EngineError::NotFound)?;
            let mid = a.message_id.ok_or(EngineError::NotFound)?;
            let m = store::tickets::message(&mut c.conn(), v.workspace_id, mid)
                .await?
                .ok_or(EngineError::NotFound)?;
            if m.visibility != Visibility::Public
                || !self
                    .conversations(&mut c.conn(), v)
                    .await?
                    .contains(&m.ticket_id)
            {
                return Err(EngineError::NotFound);
            }
            a
        };
        let bytes = self
            .store
            .blobs()
            .get(&a.sha256)
            .await
            .map_err(store::StoreError::from)?;
        Ok((a, bytes))
    }

    /// The visitor has read their conversations up to `up_to`: agents' replies
    /// up to it become `read`.
    pub async fn visitor_read(&self, v: &Visitor, up_to: MessageId) -> Result<usize, EngineError> {
        // The mark names a message; only its conversation is read, and only
        // when it is the visitor's.
        let ticket = {
            let mut c = self.store.read().await?;
            let Some(m) = store::tickets::message(&mut c.conn(), v.workspace_id, up_to).await?
            else {
                return Ok(0);
            };
            if !self
                .conversations(&mut c.conn(), v)
                .await?
                .contains(&m.ticket_id)
            {
                return Ok(0);
            }
            m.ticket_id
        };
        let ws = v.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut moved = 0;
                    let unread =
                        store::tickets::unread_replies(&mut tx.conn(), ws, ticket, up_to).await?;
                    for m in unread {
                        if crate::outbound::advance_delivery(tx, &m, DeliveryState::Read, None)
                            .await?
                        {
                            moved += 1;
                        }
                    }
                    Ok::<_, EngineError>(moved)
                })
            })
            .await
    }

    /// The visitor whose messages opened a ticket (the agent's sidebar), if
    /// it is a chat.
    pub async fn ticket_visitor(
        &self,
        p: &Principal,
        ticket: TicketId,
    ) -> Result<Option<Visitor>, EngineError> {
        let mut c = self.store.read().await?;
        let Some(id) = db::visitor_of_ticket(&mut c.conn(), p.workspace_id, ticket).await? else {
            return Ok(None);
        };
        Ok(db::visitor(&mut c.conn(), p.workspace_id, id).await?)
    }

    /// The visitor a chat ticket belongs to, for live routing (no principal:
    /// the caller already holds the ticket's workspace).
    pub async fn chat_ticket_visitor(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
    ) -> Result<Option<VisitorId>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(db::visitor_of_ticket(&mut c.conn(), ws, ticket).await?)
    }
}

impl Engine {
    /// Queues the email copy of a chat reply, sent if the visitor has not read
    /// it by then; only for a customer with an email address.
    pub(crate) async fn schedule_chat_email(
        &self,
        t: &store::tickets::Ticket,
        m: &Message,
    ) -> Result<(), EngineError> {
        let has_email = {
            let mut c = self.store.read().await?;
            customers::get(&mut c.conn(), t.workspace_id, t.customer_id)
                .await?
                .is_some_and(|c| c.identities.iter().any(|i| i.kind == IdentityKind::Email))
        };
        if !has_email {
            return Ok(());
        }
        let job = crate::jobs::Job::ChatEmail {
            workspace_id: t.workspace_id,
            message_id: m.id,
        };
        let at = self.now().plus_millis(self.limits.chat_email_after_ms);
        self.store
            .write(move |tx| Box::pin(async move { job.enqueue(tx, at).await.map(|_| ()) }))
            .await
    }

    /// Sends a chat reply to the customer's email address unless the visitor
    /// has read it (or it was emailed already). The email carries the ticket's
    /// reply address, so an answer by email continues the same ticket.
    pub async fn chat_email(
        &self,
        ws: WorkspaceId,
        id: MessageId,
        attempt: i64,
    ) -> Result<crate::outbound::Delivery, EngineError> {
        let (m, t, emailed) = {
            let mut c = self.store.read().await?;
            let Some(m) = store::tickets::message(&mut c.conn(), ws, id).await? else {
                return Ok(crate::outbound::Delivery::Sent);
            };
            let Some(t) = store::tickets::get(&mut c.conn(), ws, m.ticket_id).await? else {
                return Ok(crate::outbound::Delivery::Sent);
            };
            let emailed = channels::message_record(&mut c.conn(), ws, id, "out")
                .await?
                .is_some();
            (m, t, emailed)
        };
        if emailed || m.delivery_state == Some(DeliveryState::Read) {
            return Ok(crate::outbound::Delivery::Sent);
        }
        self.deliver_email(&t, &m, attempt).await
    }
}

/// A message with its author as a visitor may know them.
fn visible(
    v: &Visitor,
    m: Message,
    names: &std::collections::HashMap<UserId, String>,
) -> VisibleMessage {
    let (author, author_name) = match m.author_kind {
        AuthorKind::Customer => ("visitor", v.name.clone()),
        AuthorKind::Bot => ("bot", None),
        AuthorKind::Agent | AuthorKind::System => (
            "agent",
            m.author_user_id.and_then(|u| names.get(&u).cloned()),
        ),
    };
    let quick_replies = if author == "bot" {
        crate::bot::quick_replies(&m.body_text)
    } else {
        &[]
    };
    VisibleMessage {
        message: m,
        author,
        author_name,
        quick_replies,
        survey: None,
    }
}

/// A customer for a visitor who has not said who they are.
async fn anonymous_customer(
    tx: &mut store::Tx,
    ws: WorkspaceId,
    visitor: VisitorId,
    name: Option<String>,
    lang: Option<String>,
) -> Result<CustomerId, EngineError> {
    let now = tx.now();
    let short: String = visitor
        .0
        .simple()
        .to_string()
        .chars()
        .rev()
        .take(4)
        .collect();
    let name = match name {
        Some(n) => normalize_name(&n)?,
        None => format!("Visitor {short}"),
    };
    let c = Customer {
        id: CustomerId::new(),
        workspace_id: ws,
        name: name.clone(),
        language: lang,
        notes: String::new(),
        merged_into: None,
        created_at: now,
        updated_at: now,
        identities: Vec::new(),
        outreach_opt_out: false,
        at_risk_since: None,
        organization_id: None,
        custom_fields: Default::default(),
        erased_at: None,
        tags: Vec::new(),
    };
    customers::insert(tx, &c).await?;
    tx.emit(
        ws,
        Actor::System,
        EventData::CustomerCreated {
            customer_id: c.id,
            name,
        },
    )
    .await?;
    Ok(c.id)
}

/// Gives a visitor's customer an identity: when another customer has it, an
/// anonymous customer (no identities yet) is merged into that one, which the
/// visitor then is; an identified one keeps theirs (two known people are
/// never merged on a visitor's word).
async fn claim(
    tx: &mut store::Tx,
    ws: WorkspaceId,
    customer: CustomerId,
    claims: &[Identity],
) -> Result<(), EngineError> {
    let mut pending = Vec::new();
    add_claims(tx, ws, Actor::System, customer, claims, &mut pending).await?;
    for (other, why, i) in pending {
        suggest(tx, ws, Actor::System, customer, other, why, i).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_macs_are_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        let mac = identity_hmac(b"Jefe", "what do ya want for nothing?").expect("mac");
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
