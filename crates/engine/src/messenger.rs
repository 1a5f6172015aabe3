//! What the messenger channels share: the error a provider's API answers
//! with, a file to send, why a webhook call is refused, splitting long text,
//! and comparing secrets.

use crate::outbound::{Delivery, Outgoing};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::event::EventData;
use domain::ids::*;
use domain::message;
use domain::ticket::Channel;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use store::channels::{self, Account, Record};

/// A call a messenger's API refused or that did not complete.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{description}")]
pub struct RemoteError {
    /// The provider asked to wait this long (Telegram's 429 `retry_after`), in
    /// seconds.
    pub retry_after: Option<u64>,
    /// Retrying cannot help (a bad token, a blocked bot, a closed window).
    pub permanent: bool,
    pub description: String,
}

/// A file to send.
#[derive(Clone, Debug)]
pub struct OutFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

/// A button under a message that opens a link (a survey's scores): an inline
/// keyboard's URL button in Telegram, `open_link` in VK, a call-to-action in
/// WhatsApp (which shows only the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkButton {
    pub label: String,
    pub url: String,
}

/// The buttons under a message: one per choice where a messenger shows
/// several, or the one that opens the page where it shows one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkButtons {
    pub choices: Vec<LinkButton>,
    pub single: LinkButton,
}

/// Why a webhook call was refused before anything was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookRefusal {
    /// No such channel (or not active): 404.
    Unknown,
    /// No secret header: 401.
    Unsigned,
    /// The wrong secret: 403.
    BadSecret,
}

/// Splits a reply into pieces a messenger takes (at most `max` characters
/// each), after a line break where one falls in the last quarter of a piece.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + max).min(chars.len());
        if end < chars.len()
            && let Some(nl) = chars[start + max * 3 / 4..end]
                .iter()
                .rposition(|&c| c == '\n')
        {
            end = start + max * 3 / 4 + nl + 1;
        }
        out.push(chars[start..end].iter().collect());
        start = end;
    }
    out
}

/// A failed call as a delivery outcome: final, or try again (no sooner than
/// the provider asked).
pub fn remote_delivery(e: RemoteError) -> Delivery {
    if e.permanent {
        Delivery::Failed(remote(e.description))
    } else {
        match e.retry_after {
            Some(s) => Delivery::RetryAfter(remote(e.description), s),
            None => Delivery::Retry(remote(e.description)),
        }
    }
}

/// Compares secrets in time that does not depend on where they differ: their
/// digests are compared, every byte.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A channel account with its sealed JSON credentials and JSON settings opened.
pub(crate) struct Opened<S, T> {
    pub account: Account,
    pub secrets: S,
    pub settings: T,
}

/// A channel account's JSON settings as their type.
pub(crate) fn settings_of<T: DeserializeOwned>(a: &Account) -> Result<T, EngineError> {
    serde_json::from_value(a.settings.clone())
        .map_err(|e| EngineError::Internal(format!("{} channel {}: {e}", a.kind, a.id)))
}

/// A token, secret or key an admin copies from a provider: 1 to 500 visible
/// ASCII characters.
pub(crate) fn secret_field(field: &str, v: &str) -> Result<String, EngineError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 500 || !v.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EngineError::invalid(field, Code::ProviderId));
    }
    Ok(v.to_owned())
}

/// A provider's API base: `http(s)://host[:port][/path]`, no query, at most
/// 300 characters.
pub(crate) fn parse_base(base: &str) -> Result<String, EngineError> {
    parse_base_as("api_base_url", base)
}

/// A remote service's own words about a delivery.
pub(crate) fn remote(reason: impl std::fmt::Display) -> Message {
    Message::new(Code::DeliveryRemote).with("reason", reason)
}

/// The refusal of a second channel for the bot, community or number one
/// already has.
pub(crate) fn taken(what: &'static str) -> Message {
    Message::new(Code::ChannelTaken).label("what", "thing", what)
}

/// [`parse_base`] for a field of another name.
pub(crate) fn parse_base_as(field: &str, base: &str) -> Result<String, EngineError> {
    let bad = |why: Message| EngineError::invalid(field, why);
    let address = || bad(Code::BaseAddress.into());
    if base.len() > 300 {
        return Err(bad(message::max_chars(300)));
    }
    if !crate::webhook::plain_address(base, crate::webhook::Rest::Segments) {
        return Err(address());
    }
    let url = reqwest::Url::parse(base).map_err(|_| address())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(address());
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(address());
    }
    Ok(base.trim_end_matches('/').to_owned())
}

/// A new channel account: what differs between kinds.
pub(crate) struct NewAccount {
    pub id: AccountId,
    pub kind: Channel,
    pub name: String,
    pub address: String,
    pub inbound_kind: &'static str,
    pub secrets: Vec<u8>,
    pub settings: serde_json::Value,
    pub active: bool,
}

/// Where a reply goes: the account and the correspondent's address, and how
/// many of its parts were sent before.
pub(crate) struct ReplyTarget {
    pub account: Account,
    pub address: String,
    pub sent: usize,
}

impl Engine {
    /// Opens an account's sealed credentials and settings.
    pub(crate) fn open_account<S: DeserializeOwned, T: DeserializeOwned>(
        &self,
        a: Account,
    ) -> Result<Opened<S, T>, EngineError> {
        let corrupt =
            |e: String| EngineError::Internal(format!("{} channel {}: {e}", a.kind, a.id));
        let sealed = a
            .secrets
            .as_ref()
            .ok_or_else(|| corrupt("no credentials".into()))?;
        let plain = self
            .secret
            .open(sealed)
            .map_err(|e| corrupt(e.to_string()))?;
        let secrets = serde_json::from_slice(&plain).map_err(|e| corrupt(e.to_string()))?;
        let settings = settings_of(&a)?;
        Ok(Opened {
            account: a,
            secrets,
            settings,
        })
    }

    /// An account's sealed secret that is one string (a signing key).
    pub(crate) fn open_plain(&self, a: &Account) -> Option<String> {
        a.secrets
            .as_ref()
            .and_then(|s| self.secret.open(s).ok())
            .and_then(|s| String::from_utf8(s).ok())
    }

    /// Credentials as JSON, sealed.
    pub(crate) fn seal_json<S: Serialize>(&self, s: &S) -> Result<Vec<u8>, EngineError> {
        let plain = serde_json::to_vec(s).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(self.secret.seal(&plain))
    }

    /// Where a provider calls a channel: `{public_url}/hooks/{kind}/{id}`.
    pub(crate) fn hook_url(&self, kind: Channel, id: AccountId) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| format!("{u}/hooks/{kind}/{id}"))
    }

    /// Keeps a new channel account with its `channel.created` event; an
    /// address another account of the kind has is refused as a second `what` ("bot", "number").
    pub(crate) async fn insert_channel(
        &self,
        p: &Principal,
        n: NewAccount,
        what: &'static str,
    ) -> Result<Account, EngineError> {
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let a = Account {
                        id: n.id,
                        workspace_id: ws,
                        kind: n.kind,
                        name: n.name,
                        address: n.address,
                        inbound_kind: n.inbound_kind.into(),
                        inbound: json!({}),
                        outbound: None,
                        secrets: Some(n.secrets),
                        settings: n.settings,
                        state: json!({}),
                        active: n.active,
                        created_at: now,
                        updated_at: now,
                    };
                    channels::insert(tx, &a).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::ChannelCreated {
                            account_id: a.id,
                            channel: a.kind,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(a)
                })
            })
            .await
            .map_err(|e| match e {
                EngineError::Duplicate(_) => EngineError::Conflict(taken(what)),
                e => e,
            })
    }

    /// Saves a channel account's name, state, credentials (`None` keeps them)
    /// and settings, with its `channel.updated` event.
    pub(crate) async fn save_channel(
        &self,
        p: &Principal,
        id: AccountId,
        (name, active): (String, bool),
        secrets: Option<Vec<u8>>,
        settings: serde_json::Value,
    ) -> Result<Account, EngineError> {
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut a = channels::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    a.name = name;
                    a.active = active;
                    if let Some(s) = secrets {
                        a.secrets = Some(s);
                    }
                    a.settings = settings;
                    a.updated_at = tx.now();
                    channels::update(tx, &a).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::ChannelUpdated {
                            account_id: a.id,
                            channel: a.kind,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(a)
                })
            })
            .await
    }

    /// The workspace's account `id` when it is of `kind`.
    pub(crate) async fn channel_account(
        &self,
        ws: WorkspaceId,
        id: AccountId,
        kind: Channel,
    ) -> Result<Account, EngineError> {
        let mut c = self.store.read().await?;
        match channels::get(&mut c.conn(), ws, id).await? {
            Some(a) if a.kind == kind => Ok(a),
            _ => Err(EngineError::NotFound),
        }
    }

    /// The workspace's accounts of `kind` (owners and admins).
    pub(crate) async fn channel_accounts(
        &self,
        p: &Principal,
        kind: Channel,
    ) -> Result<Vec<Account>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        Ok(channels::list(&mut c.conn(), p.workspace_id, kind).await?)
    }

    /// Whether an address of `kind` is connected to any workspace.
    pub(crate) async fn address_taken(
        &self,
        kind: Channel,
        address: &str,
    ) -> Result<bool, EngineError> {
        let mut c = self.store.read().await?;
        Ok(channels::by_address(&mut c.conn(), kind, address)
            .await?
            .is_some())
    }

    /// The active account of `kind` a webhook's path names, in whichever
    /// workspace: the provider's secret, checked by the caller, proves the
    /// call, as a token names its workspace.
    pub(crate) async fn hook_account(
        &self,
        id: AccountId,
        kind: Channel,
    ) -> Result<Account, HookRefusal> {
        let account = match self.store.read().await {
            Ok(mut c) => channels::by_id_any_workspace(&mut c.conn(), id)
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        account
            .filter(|a| a.kind == kind && a.active)
            .ok_or(HookRefusal::Unknown)
    }

    /// Where a reply in a messenger conversation goes: the account of `kind`
    /// of the ticket's newest inbound message (else the ticket's), switched
    /// on, and the correspondent's address there. `Err` is the delivery's
    /// failure, with the reason.
    pub(crate) async fn reply_target(
        &self,
        out: &Outgoing,
        kind: Channel,
    ) -> Result<Result<ReplyTarget, Delivery>, EngineError> {
        let ws = out.ticket.workspace_id;
        let mut c = self.store.read().await?;
        let last_in = channels::last_inbound(&mut c.conn(), ws, out.ticket.id).await?;
        let account = match last_in
            .as_ref()
            .map(|r| r.account_id)
            .or(out.ticket.account_id)
        {
            Some(id) => channels::get(&mut c.conn(), ws, id).await?,
            None => None,
        };
        let sent = channels::message_records(&mut c.conn(), ws, out.message.id, "out")
            .await?
            .len();
        let Some(account) = account.filter(|a| a.kind == kind) else {
            return Ok(Err(Delivery::Failed(
                Message::new(Code::DeliveryNotThatChannel).label("kind", "channel", kind),
            )));
        };
        if !account.active {
            return Ok(Err(Delivery::Failed(
                Message::new(Code::DeliveryChannelOff)
                    .label("kind", "channel", kind)
                    .with("name", &account.name),
            )));
        }
        let Some(address) = last_in.and_then(|r| r.address) else {
            return Ok(Err(Delivery::Failed(
                Message::new(Code::DeliveryNoAddress).label("kind", "channel", kind),
            )));
        };
        Ok(Ok(ReplyTarget {
            account,
            address,
            sent,
        }))
    }

    /// Records part `n` of a reply as sent under the channel's id for it, so a
    /// retry skips it and reports find the message.
    pub(crate) async fn record_part(
        &self,
        out: &Outgoing,
        account: AccountId,
        external_id: String,
        n: usize,
        address: &str,
    ) -> Result<(), EngineError> {
        let rec = Record {
            workspace_id: out.ticket.workspace_id,
            account_id: account,
            external_id,
            message_id: Some(out.message.id),
            ticket_id: Some(out.ticket.id),
            direction: "out".into(),
            outcome: format!("part {}", n + 1),
            address: Some(address.to_owned()),
            raw_sha256: None,
            sent_at: None,
            created_at: self.store.now(),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    channels::insert_record(tx, &rec).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// A stored attachment's bytes, to send.
    pub(crate) async fn out_file(
        &self,
        a: &store::tickets::Attachment,
    ) -> Result<OutFile, EngineError> {
        let bytes = self
            .store
            .blobs()
            .get(&a.sha256)
            .await
            .map_err(store::StoreError::from)?;
        Ok(OutFile {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            bytes: bytes.into(),
        })
    }
}
