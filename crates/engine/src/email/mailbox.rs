//! Mailboxes: one support address each, with how mail comes in (IMAP, the built-in
//! SMTP receiver, or an MTA pipe) and how replies leave (SMTP). Passwords are
//! sealed with the server key and never returned.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::event::{EventData, record};
use domain::identity::EmailAddress;
use domain::ids::*;
use domain::message;
use domain::secret::Secret;
use domain::ticket::Channel;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::channels::{self, Account};

/// How a connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
    Starttls,
    /// No encryption: loopback and test setups only.
    None,
}

/// How mail reaches the mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InboundKind {
    Imap,
    Smtp,
    Pipe,
}

impl InboundKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::Imap => "imap",
            InboundKind::Smtp => "smtp",
            InboundKind::Pipe => "pipe",
        }
    }
}

/// IMAP settings (only for `kind = imap`); the password is kept apart, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inbound {
    pub kind: InboundKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "domain::number::whole_opt"
    )]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    /// Accepted on input only.
    #[serde(default, skip_serializing)]
    pub password: Option<Secret>,
}

/// SMTP settings for replies; the password is kept apart, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    pub host: String,
    #[serde(deserialize_with = "domain::number::whole")]
    pub port: u16,
    pub tls: Tls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    /// Accepted on input only.
    #[serde(default, skip_serializing)]
    pub password: Option<Secret>,
}

/// The automatic acknowledgement of a new ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoAck {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When the customer can expect an answer, per language, as the sentence puts
    /// it (`{"en": "within 4 hours", "ru": "в течение 4 часов"}`); used until SLA
    /// policies give a computed time. Languages left out get a default.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub response_time: std::collections::BTreeMap<String, String>,
    /// Replacement texts per language (`en`, `ru`, `th`), with `{number}`,
    /// `{subject}`, `{response_time}` and `{name}` filled in.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub templates: std::collections::BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl Default for AutoAck {
    fn default() -> Self {
        AutoAck {
            enabled: true,
            response_time: Default::default(),
            templates: Default::default(),
        }
    }
}

/// Options stored in the mailbox's `settings` document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub auto_ack: AutoAck,
    /// Put a per-ticket `address+number-token@domain` in Reply-To, so that a
    /// reply threads even when its headers and subject were stripped.
    #[serde(default = "yes")]
    pub reply_address_token: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_ack: AutoAck::default(),
            reply_address_token: true,
        }
    }
}

/// The passwords, as sealed together in the mailbox row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
struct Secrets {
    #[serde(default)]
    inbound_password: Option<Secret>,
    #[serde(default)]
    outbound_password: Option<Secret>,
}

impl Secrets {
    /// The plain form that is sealed: the one place the passwords are exposed.
    fn to_plain(&self) -> Vec<u8> {
        let mut doc = serde_json::Map::new();
        for (k, v) in [
            ("inbound_password", &self.inbound_password),
            ("outbound_password", &self.outbound_password),
        ] {
            if let Some(v) = v {
                doc.insert(k.into(), Value::from(v.expose()));
            }
        }
        Value::Object(doc).to_string().into_bytes()
    }
}

/// A mailbox as services and transports use it: settings decoded, passwords open.
#[derive(Clone, Debug)]
pub struct MailboxConfig {
    pub id: MailboxId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub address: String,
    pub inbound: Inbound,
    pub outbound: Option<Outbound>,
    pub settings: Settings,
    pub active: bool,
    pub inbound_password: Option<Secret>,
    pub outbound_password: Option<Secret>,
    pub imap_state: Value,
}

impl MailboxConfig {
    /// The name its mail goes out under: the outbound `from_name`, else the
    /// mailbox's own.
    pub fn sender_name(&self) -> String {
        self.outbound
            .as_ref()
            .and_then(|o| o.from_name.clone())
            .unwrap_or_else(|| self.name.clone())
    }

    /// The channel account this mailbox is.
    pub fn account(&self) -> crate::ingest::AccountRef {
        crate::ingest::AccountRef {
            id: self.id,
            workspace_id: self.workspace_id,
            kind: Channel::Email,
        }
    }

    pub fn domain(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(_, d)| d)
    }
    pub fn local_part(&self) -> &str {
        self.address.rsplit_once('@').map_or("", |(l, _)| l)
    }
}

/// A mailbox as the API shows it: no passwords, only whether they are set.
#[derive(Clone, Debug, Serialize)]
pub struct MailboxView {
    pub id: MailboxId,
    pub name: String,
    pub address: String,
    pub inbound: Inbound,
    pub inbound_password_set: bool,
    pub outbound: Option<Outbound>,
    pub outbound_password_set: bool,
    pub settings: Settings,
    pub active: bool,
    /// How the last attempts to read the mailbox went (IMAP only).
    pub connection: Option<Connection>,
    pub created_at: domain::Timestamp,
    pub updated_at: domain::Timestamp,
}

/// The state of a mailbox's connection, as its poller last reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The last attempt succeeded and the poller is waiting for mail.
    pub connected: bool,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_success_at: Option<String>,
}

/// A new mailbox, or the full replacement of one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxInput {
    pub name: String,
    pub address: String,
    pub inbound: Inbound,
    #[serde(default)]
    pub outbound: Option<Outbound>,
    #[serde(default)]
    pub settings: Option<Settings>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// A unique-key conflict on a mailbox is its address, taken on this server.
fn address_taken(address: &str, e: store::StoreError) -> EngineError {
    match EngineError::from(e) {
        EngineError::Duplicate(store::constraint::Unique::AccountAddress) => {
            EngineError::Conflict(Message::new(Code::AddressTaken).with("address", address))
        }
        e => e,
    }
}

fn check_host(field: &str, host: &str) -> Result<(), EngineError> {
    if host.is_empty()
        || host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(EngineError::invalid(field, Code::HostName));
    }
    Ok(())
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), EngineError> {
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(EngineError::invalid(
            field,
            Message::new(Code::LineText).with("max", max),
        ));
    }
    Ok(())
}

fn validate(input: &MailboxInput) -> Result<(String, String), EngineError> {
    let name = domain::text::clean_line(&input.name);
    if name.is_empty() {
        return Err(EngineError::invalid("name", Code::Required));
    }
    check_text("name", &name, 100)?;
    let address = EmailAddress::parse(&input.address)
        .map_err(|_| EngineError::invalid("address", Code::Email))?
        .as_str()
        .to_owned();
    if address.split('@').next().is_some_and(|l| l.contains('+')) {
        return Err(EngineError::invalid("address", Code::MailboxPlus));
    }
    let i = &input.inbound;
    if i.kind == InboundKind::Imap {
        let host = i.host.as_deref().unwrap_or_default();
        check_host("inbound.host", host)?;
        if i.username.as_deref().is_none_or(str::is_empty) {
            return Err(EngineError::invalid(
                "inbound.username",
                Code::RequiredForImap,
            ));
        }
    } else if i.host.is_some() || i.username.is_some() || i.password.is_some() {
        return Err(EngineError::invalid("inbound", Code::ImapOnly));
    }
    for (f, v, max) in [
        ("inbound.username", i.username.as_deref(), 320),
        ("inbound.folder", i.folder.as_deref(), 200),
        (
            "inbound.password",
            i.password.as_ref().map(Secret::expose),
            1000,
        ),
    ] {
        if let Some(v) = v {
            check_text(f, v, max)?;
        }
    }
    if let Some(o) = &input.outbound {
        check_host("outbound.host", &o.host)?;
        if o.port == 0 {
            return Err(EngineError::invalid(
                "outbound.port",
                message::range(1, 65535),
            ));
        }
        for (f, v, max) in [
            ("outbound.username", o.username.as_deref(), 320),
            ("outbound.from_name", o.from_name.as_deref(), 100),
            (
                "outbound.password",
                o.password.as_ref().map(Secret::expose),
                1000,
            ),
        ] {
            if let Some(v) = v {
                check_text(f, v, max)?;
            }
        }
    }
    if let Some(s) = &input.settings {
        for (lang, rt) in &s.auto_ack.response_time {
            if !matches!(lang.as_str(), "en" | "ru" | "th") {
                return Err(EngineError::invalid(
                    "settings.auto_ack.response_time",
                    Code::MailboxLanguages,
                ));
            }
            check_text("settings.auto_ack.response_time", rt, 200)?;
        }
        for (lang, t) in &s.auto_ack.templates {
            if !matches!(lang.as_str(), "en" | "ru" | "th") {
                return Err(EngineError::invalid(
                    "settings.auto_ack.templates",
                    Code::MailboxLanguages,
                ));
            }
            if t.chars().count() > 4000 {
                return Err(EngineError::invalid(
                    "settings.auto_ack.templates",
                    Code::AutoReplyLength,
                ));
            }
        }
    }
    Ok((name, address))
}

impl Engine {
    pub(crate) fn open_mailbox(&self, m: Account) -> Result<MailboxConfig, EngineError> {
        let corrupt =
            |e: serde_json::Error| EngineError::Internal(format!("mailbox {}: {e}", m.id));
        let secrets: Secrets = match &m.secrets {
            Some(s) => {
                let plain = self
                    .secret
                    .open(s)
                    .map_err(|e| EngineError::Internal(format!("mailbox {}: {e}", m.id)))?;
                serde_json::from_slice(&plain).map_err(corrupt)?
            }
            None => Secrets::default(),
        };
        Ok(MailboxConfig {
            id: m.id,
            workspace_id: m.workspace_id,
            name: m.name,
            address: m.address,
            inbound: serde_json::from_value(m.inbound).map_err(corrupt)?,
            outbound: m
                .outbound
                .map(serde_json::from_value)
                .transpose()
                .map_err(corrupt)?,
            settings: serde_json::from_value(m.settings).map_err(corrupt)?,
            active: m.active,
            inbound_password: secrets.inbound_password,
            outbound_password: secrets.outbound_password,
            imap_state: m.state,
        })
    }

    fn view(
        m: &MailboxConfig,
        created_at: domain::Timestamp,
        updated_at: domain::Timestamp,
    ) -> MailboxView {
        MailboxView {
            id: m.id,
            name: m.name.clone(),
            address: m.address.clone(),
            inbound: m.inbound.clone(),
            inbound_password_set: m.inbound_password.is_some(),
            outbound: m.outbound.clone(),
            outbound_password_set: m.outbound_password.is_some(),
            settings: m.settings.clone(),
            active: m.active,
            connection: m
                .imap_state
                .get("connection")
                .and_then(|c| serde_json::from_value(c.clone()).ok()),
            created_at,
            updated_at,
        }
    }

    /// A mailbox of the workspace, decoded (for transports and services).
    pub async fn mailbox_config(
        &self,
        ws: WorkspaceId,
        id: MailboxId,
    ) -> Result<MailboxConfig, EngineError> {
        let m = {
            let mut c = self.store.read().await?;
            email_only(channels::get(&mut c.conn(), ws, id).await?)
        };
        self.open_mailbox(m.ok_or(EngineError::NotFound)?)
    }

    /// Every active mailbox on the server (for the IMAP pollers and SMTP receiver).
    pub async fn active_mailboxes(&self) -> Result<Vec<MailboxConfig>, EngineError> {
        let all = {
            let mut c = self.store.read().await?;
            channels::all_active(&mut c.conn(), Channel::Email).await?
        };
        all.into_iter().map(|m| self.open_mailbox(m)).collect()
    }

    /// The mailbox that owns `address` (the plus part ignored), on any workspace.
    pub async fn mailbox_for_address(
        &self,
        address: &str,
    ) -> Result<Option<MailboxConfig>, EngineError> {
        let a = address.trim().to_lowercase();
        let base = match a.rsplit_once('@') {
            Some((local, domain)) => {
                format!("{}@{domain}", local.split('+').next().unwrap_or(local))
            }
            None => return Ok(None),
        };
        let m = {
            let mut c = self.store.read().await?;
            channels::by_address(&mut c.conn(), Channel::Email, &base).await?
        };
        m.map(|m| self.open_mailbox(m)).transpose()
    }

    pub async fn mailbox(&self, p: &Principal, id: MailboxId) -> Result<MailboxView, EngineError> {
        p.require_admin()?;
        let m = {
            let mut c = self.store.read().await?;
            email_only(channels::get(&mut c.conn(), p.workspace_id, id).await?)
                .ok_or(EngineError::NotFound)?
        };
        let (c, u) = (m.created_at, m.updated_at);
        Ok(Self::view(&self.open_mailbox(m)?, c, u))
    }

    pub async fn mailboxes(&self, p: &Principal) -> Result<Vec<MailboxView>, EngineError> {
        p.require_admin()?;
        let all = {
            let mut c = self.store.read().await?;
            channels::list(&mut c.conn(), p.workspace_id, Channel::Email).await?
        };
        all.into_iter()
            .map(|m| {
                let (c, u) = (m.created_at, m.updated_at);
                Ok(Self::view(&self.open_mailbox(m)?, c, u))
            })
            .collect()
    }

    /// The active mailboxes an agent may send a new email from: id, name and
    /// address (nothing of their settings).
    pub async fn sending_mailboxes(
        &self,
        p: &Principal,
    ) -> Result<Vec<(MailboxId, String, String)>, EngineError> {
        p.require_ticket_work()?;
        let mut c = self.store.read().await?;
        Ok(
            channels::list(&mut c.conn(), p.workspace_id, Channel::Email)
                .await?
                .into_iter()
                .filter(|m| m.active && m.outbound.is_some())
                .map(|m| (m.id, m.name, m.address))
                .collect(),
        )
    }

    fn seal_secrets(&self, s: &Secrets) -> Option<Vec<u8>> {
        (s != &Secrets::default()).then(|| self.secret.seal(&s.to_plain()))
    }

    /// Creates a mailbox. Its address must not belong to another mailbox anywhere
    /// on this server.
    pub async fn create_mailbox(
        &self,
        p: &Principal,
        input: MailboxInput,
    ) -> Result<MailboxView, EngineError> {
        p.require_admin()?;
        let (name, address) = validate(&input)?;
        if input.inbound.kind == InboundKind::Imap && input.inbound.password.is_none() {
            return Err(EngineError::invalid(
                "inbound.password",
                Code::RequiredForImap,
            ));
        }
        let secrets = Secrets {
            inbound_password: input.inbound.password.clone(),
            outbound_password: input.outbound.as_ref().and_then(|o| o.password.clone()),
        };
        let sealed = self.seal_secrets(&secrets);
        let ws = p.workspace_id;
        let actor = p.actor();
        let m = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let m = Account {
                        id: MailboxId::new(),
                        workspace_id: ws,
                        kind: Channel::Email,
                        name,
                        address: address.clone(),
                        inbound_kind: input.inbound.kind.as_str().into(),
                        inbound: json!(input.inbound),
                        outbound: input.outbound.as_ref().map(|o| json!(o)),
                        secrets: sealed,
                        settings: json!(input.settings.unwrap_or_default()),
                        state: json!({}),
                        active: input.active.unwrap_or(true),
                        created_at: now,
                        updated_at: now,
                    };
                    channels::insert(tx, &m)
                        .await
                        .map_err(|e| address_taken(&address, e))?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::MailboxCreated {
                            mailbox_id: m.id,
                            address,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(m)
                })
            })
            .await?;
        let (c, u) = (m.created_at, m.updated_at);
        Ok(Self::view(&self.open_mailbox(m)?, c, u))
    }

    /// Replaces a mailbox's settings. A password left out keeps the stored one; an
    /// empty password clears it.
    pub async fn update_mailbox(
        &self,
        p: &Principal,
        id: MailboxId,
        input: MailboxInput,
    ) -> Result<MailboxView, EngineError> {
        p.require_admin()?;
        let (name, address) = validate(&input)?;
        let current = self.mailbox_config(p.workspace_id, id).await?;
        let keep = |new: Option<&Secret>, old: Option<Secret>| match new {
            None => old,
            Some(s) if s.expose().is_empty() => None,
            Some(s) => Some(s.clone()),
        };
        let secrets = Secrets {
            inbound_password: keep(
                input.inbound.password.as_ref(),
                current.inbound_password.clone(),
            ),
            outbound_password: keep(
                input.outbound.as_ref().and_then(|o| o.password.as_ref()),
                current.outbound_password.clone(),
            ),
        };
        if input.inbound.kind == InboundKind::Imap && secrets.inbound_password.is_none() {
            return Err(EngineError::invalid(
                "inbound.password",
                Code::RequiredForImap,
            ));
        }
        let sealed = self.seal_secrets(&secrets);
        let ws = p.workspace_id;
        let actor = p.actor();
        let m = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let mut m = email_only(channels::get(&mut tx.conn(), ws, id).await?)
                        .ok_or(EngineError::NotFound)?;
                    let mut changes = Vec::new();
                    record(&mut changes, "name", &mut m.name, name);
                    record(&mut changes, "address", &mut m.address, address.clone());
                    let kind = input.inbound.kind.as_str().to_owned();
                    record(&mut changes, "inbound_kind", &mut m.inbound_kind, kind);
                    record(
                        &mut changes,
                        "inbound",
                        &mut m.inbound,
                        json!(input.inbound),
                    );
                    let outbound = input.outbound.as_ref().map(|o| json!(o));
                    record(&mut changes, "outbound", &mut m.outbound, outbound);
                    let settings = json!(input.settings.unwrap_or_default());
                    record(&mut changes, "settings", &mut m.settings, settings);
                    let active = input.active.unwrap_or(m.active);
                    record(&mut changes, "active", &mut m.active, active);
                    let secrets_changed = current.inbound_password != secrets.inbound_password
                        || current.outbound_password != secrets.outbound_password;
                    if secrets_changed {
                        m.secrets = sealed;
                        changes.push(domain::event::Change {
                            field: "passwords".into(),
                            from: Value::from("(sealed)"),
                            to: Value::from("(sealed)"),
                        });
                    }
                    if !changes.is_empty() {
                        m.updated_at = tx.now();
                        channels::update(tx, &m)
                            .await
                            .map_err(|e| address_taken(&address, e))?;
                        tx.emit(
                            ws,
                            actor,
                            EventData::MailboxUpdated {
                                mailbox_id: id,
                                changes,
                            },
                        )
                        .await?;
                    }
                    Ok::<_, EngineError>(m)
                })
            })
            .await?;
        let (c, u) = (m.created_at, m.updated_at);
        Ok(Self::view(&self.open_mailbox(m)?, c, u))
    }

    /// Saves an IMAP poller's position after the messages up to it were committed.
    pub async fn save_imap_state(
        &self,
        ws: WorkspaceId,
        id: MailboxId,
        state: Value,
    ) -> Result<(), EngineError> {
        self.merge_state(ws, id, state).await
    }

    /// Records how an attempt to read the mailbox went: `Ok` after a successful
    /// pass, the error otherwise. Shown to admins on the mailbox.
    pub async fn report_connection(
        &self,
        ws: WorkspaceId,
        id: MailboxId,
        result: Result<(), String>,
    ) -> Result<(), EngineError> {
        let now = self.store.now().to_rfc3339();
        let current = self
            .mailbox_config(ws, id)
            .await?
            .imap_state
            .get("connection")
            .and_then(|c| serde_json::from_value::<Connection>(c.clone()).ok())
            .unwrap_or_default();
        let next = match result {
            Ok(()) => Connection {
                connected: true,
                last_success_at: Some(now),
                ..current
            },
            Err(e) => Connection {
                connected: false,
                last_error: Some(e.chars().take(500).collect()),
                last_error_at: Some(now),
                ..current
            },
        };
        self.merge_state(ws, id, json!({ "connection": next }))
            .await
    }

    /// Sets the keys of `patch` in the account's state, keeping the others.
    async fn merge_state(
        &self,
        ws: WorkspaceId,
        id: MailboxId,
        patch: Value,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(a) = channels::get(&mut tx.conn(), ws, id).await? else {
                        return Err(EngineError::NotFound);
                    };
                    let mut state = match a.state {
                        Value::Object(m) => m,
                        _ => serde_json::Map::new(),
                    };
                    if let Value::Object(p) = patch {
                        state.extend(p);
                    }
                    channels::set_state(tx, ws, id, &Value::Object(state)).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }
}

/// A mailbox is the email kind of account: an id of another kind is not one.
fn email_only(a: Option<Account>) -> Option<Account> {
    a.filter(|a| a.kind == Channel::Email)
}
