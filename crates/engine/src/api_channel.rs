//! Custom API channels: any source that is not a known messenger — a voice
//! assistant, a device's alert, a marketplace — posts its customers'
//! messages to `POST /api/v1/channels/api/messages` (with an integration's
//! token), and replies to those conversations are POSTed to the channel's
//! webhook, signed with its secret (`X-Otklik-Timestamp`,
//! `X-Otklik-Signature: v1=` HMAC-SHA256 of `timestamp.body`).
//!
//! A message goes through the one ingest path under its `external_id` (per
//! channel: the same id again is the same message), from the customer its
//! sender names (an id in the source, an email, a phone; the first that
//! matches, or a new customer), continuing their conversation on the
//! channel.

use crate::customers::{CustomerInput, resolve};
use crate::ingest::{
    AccountRef, Content, CustomerMessage, Inbound, InboundAttachment, Ingested, Sender, Thread,
};
use crate::messenger::NewAccount;
use crate::outbound::{Delivery, Outgoing};
use crate::webhook::{Posted, post_signed};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::event::Actor;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::message;
use domain::ticket::Channel;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::channels::{self, Account};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    webhook_url: Option<String>,
    team_id: Option<TeamId>,
}

/// An API channel as admins see it.
#[derive(Clone, Debug)]
pub struct ApiChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Where replies are POSTed; none: integrations read them from the event stream.
    pub webhook_url: Option<String>,
    pub team_id: Option<TeamId>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new API channel, or the changes to one (`None` keeps; `Some(None)` clears).
#[derive(Clone, Debug, Default)]
pub struct ApiChannelInput {
    pub name: Option<String>,
    pub webhook_url: Option<Option<String>>,
    pub team_id: Option<Option<TeamId>>,
    pub active: Option<bool>,
    /// A new signing secret (returned once); the old one stops at once.
    pub rotate_secret: bool,
}

/// Who wrote, as the source knows them; at least one of the three.
#[derive(Clone, Debug, Default)]
pub struct ApiSender {
    /// The person's id in the source (`external` identity).
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One inbound message from a custom source.
#[derive(Clone, Debug)]
pub struct ApiMessage {
    pub channel_id: AccountId,
    /// The source's id of the message: the same id again is the same message.
    pub external_id: String,
    pub sender: ApiSender,
    pub subject: Option<String>,
    pub text: String,
    /// Files uploaded first (`POST /api/v1/attachments`).
    pub attachments: Vec<AttachmentId>,
}

impl Engine {
    fn api_view(&self, a: Account) -> Result<ApiChannel, EngineError> {
        let s: Settings = serde_json::from_value(a.settings.clone())
            .map_err(|e| EngineError::Internal(format!("api channel {}: {e}", a.id)))?;
        Ok(ApiChannel {
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            webhook_url: s.webhook_url,
            team_id: s.team_id,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Creates an API channel; returns it with its signing secret, shown once.
    pub async fn create_api_channel(
        &self,
        p: &Principal,
        input: ApiChannelInput,
    ) -> Result<(ApiChannel, String), EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(input.name, "name", 100)?;
        let url = input
            .webhook_url
            .flatten()
            .map(|u| crate::webhook::checked_url("webhook_url", &u))
            .transpose()?;
        let team_id = input.team_id.flatten();
        self.check_channel_team(p, team_id).await?;
        let secret = crate::auth::new_secret("");
        let sealed = self.secret.seal(secret.as_bytes());
        let settings = json!(Settings {
            webhook_url: url,
            team_id
        });
        let active = input.active.unwrap_or(true);
        let id = AccountId::new();
        let a = self
            .insert_channel(
                p,
                NewAccount {
                    id,
                    kind: Channel::Api,
                    name,
                    address: id.to_string(),
                    inbound_kind: "api",
                    secrets: sealed,
                    settings,
                    active,
                },
                "this channel exists already",
            )
            .await?;
        Ok((self.api_view(a)?, secret))
    }

    pub async fn api_channels(&self, p: &Principal) -> Result<Vec<ApiChannel>, EngineError> {
        self.channel_accounts(p, Channel::Api)
            .await?
            .into_iter()
            .map(|a| self.api_view(a))
            .collect()
    }

    async fn api_account(&self, ws: WorkspaceId, id: AccountId) -> Result<Account, EngineError> {
        self.channel_account(ws, id, Channel::Api).await
    }

    pub async fn api_channel(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<ApiChannel, EngineError> {
        p.require_admin()?;
        self.api_view(self.api_account(p.workspace_id, id).await?)
    }

    /// Changes a channel; with `rotate_secret`, also returns the new secret.
    pub async fn update_api_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: ApiChannelInput,
    ) -> Result<(ApiChannel, Option<String>), EngineError> {
        let current = self.api_channel(p, id).await?;
        let name = match input.name {
            Some(n) => crate::chat::required_line(Some(n), "name", 100)?,
            None => current.name.clone(),
        };
        let url = match input.webhook_url {
            Some(u) => u
                .map(|u| crate::webhook::checked_url("webhook_url", &u))
                .transpose()?,
            None => current.webhook_url.clone(),
        };
        let team_id = input.team_id.unwrap_or(current.team_id);
        self.check_channel_team(p, team_id).await?;
        let secret = input.rotate_secret.then(|| crate::auth::new_secret(""));
        let sealed = secret.as_ref().map(|s| self.secret.seal(s.as_bytes()));
        let settings = json!(Settings {
            webhook_url: url,
            team_id
        });
        let active = input.active.unwrap_or(current.active);
        let a = self
            .save_channel(p, id, (name, active), sealed, settings)
            .await?;
        Ok((self.api_view(a)?, secret))
    }

    /// Takes a custom source's message in: the customer found or made from
    /// the sender, then the one ingest path.
    pub async fn api_inbound(&self, p: &Principal, m: ApiMessage) -> Result<Ingested, EngineError> {
        p.require_ticket_work()?;
        let ws = p.workspace_id;
        let a = self
            .api_account(ws, m.channel_id)
            .await
            .map_err(|_| EngineError::Unknown("channel_id".into(), Code::NoApiChannel.into()))?;
        if !a.active {
            return Err(EngineError::Rule(Code::ChannelOff.into()));
        }
        let external_id = domain::text::clean_line(&m.external_id);
        if external_id.is_empty() || external_id.len() > 255 {
            return Err(EngineError::invalid("external_id", message::chars(1, 255)));
        }
        let mut identities = Vec::new();
        if let Some(id) = &m.sender.id {
            identities.push(Identity::parse(IdentityKind::External, id)?);
        }
        if let Some(e) = &m.sender.email {
            identities.push(Identity::parse(IdentityKind::Email, e)?);
        }
        if let Some(ph) = &m.sender.phone {
            identities.push(Identity::parse(IdentityKind::Phone, ph)?);
        }
        if identities.is_empty() {
            return Err(EngineError::invalid("sender", Code::SenderNeeded));
        }
        let handle = identities[0].value().to_owned();
        let name = m
            .sender
            .name
            .as_deref()
            .map(domain::identity::normalize_name)
            .transpose()?;
        // The files the integration uploaded, as the message's own.
        let mut files = Vec::new();
        {
            let mut c = self.store.read().await?;
            for id in m
                .attachments
                .iter()
                .take(self.limits.max_attachments_per_message)
            {
                let att = store::tickets::attachment(&mut c.conn(), ws, *id)
                    .await?
                    .filter(|a| a.message_id.is_none())
                    .ok_or_else(|| {
                        EngineError::Unknown("attachments".into(), message::no_such("attachment"))
                    })?;
                let bytes = self
                    .store
                    .blobs()
                    .get(&att.sha256)
                    .await
                    .map_err(store::StoreError::from)?;
                files.push(InboundAttachment {
                    filename: att.filename,
                    content_type: att.content_type,
                    content_id: None,
                    inline: false,
                    bytes: bytes.into(),
                });
            }
        }
        let input = CustomerInput {
            name: name.clone(),
            identities,
            ..CustomerInput::default()
        };
        let customer = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    Ok::<_, EngineError>(resolve(tx, ws, Actor::System, &input).await?.0)
                })
            })
            .await?;
        self.ingest(Inbound {
            account: AccountRef {
                id: a.id,
                workspace_id: ws,
                kind: Channel::Api,
            },
            external_id,
            global_id: false,
            sent_at: None,
            original: None,
            content: Content::Message(Box::new(CustomerMessage {
                sender: Sender {
                    handle,
                    name,
                    customer: Some(customer),
                },
                thread: Thread {
                    conversation: true,
                    ..Thread::default()
                },
                subject: m.subject,
                text: m.text,
                attachments: files,
                ..CustomerMessage::default()
            })),
        })
        .await
    }

    /// Delivers a reply in an API channel's conversation to its webhook
    /// (none: the event stream is the delivery). A 2xx answer is delivered,
    /// a 4xx other than 408/429 fails with the status, the rest retries.
    pub(crate) async fn deliver_api(&self, out: &Outgoing) -> Result<Delivery, EngineError> {
        let ws = out.ticket.workspace_id;
        let account = match out.ticket.account_id {
            Some(id) => {
                let mut c = self.store.read().await?;
                channels::get(&mut c.conn(), ws, id).await?
            }
            None => None,
        };
        let Some(a) = account.filter(|a| a.kind == Channel::Api) else {
            return Ok(Delivery::Sent);
        };
        let s: Settings = serde_json::from_value(a.settings.clone())
            .map_err(|e| EngineError::Internal(format!("api channel {}: {e}", a.id)))?;
        let Some(url) = s.webhook_url else {
            return Ok(Delivery::Sent);
        };
        if !a.active {
            return Ok(Delivery::Failed(
                Message::new(Code::DeliveryApiChannelOff).with("name", &a.name),
            ));
        }
        let Some(secret) = self.open_plain(&a) else {
            return Ok(Delivery::Failed(Code::DeliverySecretUnreadable.into()));
        };
        let (customer, sender, author) = {
            let mut c = self.store.read().await?;
            let customer = store::customers::get(&mut c.conn(), ws, out.ticket.customer_id).await?;
            let sender = channels::last_inbound(&mut c.conn(), ws, out.ticket.id)
                .await?
                .and_then(|r| r.address);
            let author = match out.message.author_user_id {
                Some(u) => store::people::user_by_id(&mut c.conn(), ws, u)
                    .await?
                    .map(|u| u.name),
                None => None,
            };
            (customer, sender, author)
        };
        let m = &out.message;
        let body = json!({
            "type": "message.created",
            "channel_id": a.id.to_string(),
            "ticket": {"id": out.ticket.id.to_string(), "number": out.ticket.number, "subject": out.ticket.subject},
            "recipient": {"customer_id": out.ticket.customer_id.to_string(),
                          "name": customer.map(|c| c.name), "sender": sender},
            "message": {"id": m.id.to_string(), "text": m.body_text, "html": m.body_html,
                        "author": {"kind": m.author_kind.as_str(), "name": author},
                        "created_at": m.created_at.to_rfc3339(),
                        "attachments": m.attachments.iter().map(|f| json!({
                            "id": f.id.to_string(), "filename": f.filename,
                            "content_type": f.content_type, "size": f.size,
                            "url": format!("/api/v1/attachments/{}", f.id)})).collect::<Vec<_>>()},
        })
        .to_string();
        let ts = self.now().millis() / 1000;
        Ok(
            match post_signed(
                &url,
                &secret,
                ts,
                body,
                &[("x-otklik-delivery", m.id.to_string())],
                false,
            )
            .await?
            {
                Posted::Done(..) => Delivery::Sent,
                Posted::Refused(status, _) => Delivery::Failed(
                    Message::new(Code::DeliveryWebhookRefused).with("status", status),
                ),
                Posted::Retry(_, why) => Delivery::Retry(crate::messenger::remote(why)),
            },
        )
    }
}
