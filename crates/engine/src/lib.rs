//! Services on top of the store: workspaces, people and auth, customers, tickets and
//! messages, and the job worker. Handlers (HTTP, CLI, channels) call these; the
//! business rules live here and nowhere above.
//!
//! Invariants:
//! - Every service call takes the acting [`Principal`] (or is an explicit system
//!   call) and checks its role before touching data; every query is scoped by the
//!   principal's workspace.
//! - Every change emits its event in the same transaction (`Tx::emit`).
//! - An internal note never reaches a channel: `outbound::guard` refuses it
//!   before any adapter runs.

#![forbid(unsafe_code)]

pub mod ai;
pub mod api_channel;
pub mod assist;
pub mod auth;
pub mod bot;
pub mod chat;
pub mod consumers;
pub mod cpu;
pub mod cursor;
pub mod customers;
pub mod defaults;
pub mod digests;
pub mod email;
pub mod error;
pub mod escalation;
pub mod events;
pub mod flows;
pub mod help;
pub mod housekeeping;
pub mod ingest;
pub mod jobs;
pub mod journey;
pub mod kb;
pub mod kb_activity;
pub mod kpis;
pub mod macros;
pub mod markdown;
pub mod messenger;
pub mod model;
pub mod orders;
pub mod organizations;
pub mod outbound;
pub mod outreach;
pub mod people;
pub mod phone;
pub mod privacy;
pub mod quality;
pub mod reminders;
pub(crate) mod remote_files;
pub mod routing;
pub mod rules;
pub mod search;
pub mod secret;
pub mod side;
pub mod sla;
pub mod subscriptions;
pub mod suggestions;
pub mod surveys;
pub mod swarm;
pub mod telegram;
pub mod tickets;
pub mod tracking;
pub mod trends;
pub mod triage;
pub mod vk;
pub mod webhook;
pub mod whatsapp;
pub mod worker;
pub mod workspaces;

pub use error::EngineError;

use domain::Code;
use domain::ids::*;
use domain::user::Role;
use std::sync::Arc;
use store::Store;

/// Limits that protect the service from oversized input. All configurable.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest message body (text or HTML), in bytes.
    pub max_message_bytes: usize,
    /// Largest attachment, in bytes.
    pub max_attachment_bytes: usize,
    /// Most attachments on one message.
    pub max_attachments_per_message: usize,
    /// Largest raw inbound email, in bytes.
    pub max_email_bytes: usize,
    /// Most automatic replies to one sender address in an hour (loop protection).
    pub auto_replies_per_hour: i64,
    /// How long a chat reply may stay unread before it also goes to the
    /// visitor's email address (when they left one), in milliseconds.
    pub chat_email_after_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 256 * 1024,
            max_attachment_bytes: 25 * 1024 * 1024,
            max_attachments_per_message: 20,
            max_email_bytes: 40 * 1024 * 1024,
            auto_replies_per_hour: 3,
            chat_email_after_ms: 120_000,
        }
    }
}

/// How the caller was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    Token(TokenId),
    /// A browser session with its CSRF token.
    Session {
        id: SessionId,
        csrf: String,
    },
    /// The command line, acting as a named user.
    Cli,
}

/// Who is acting: one user of one workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub via: Via,
}

impl Principal {
    /// Who the events of this principal's changes name: the person, or the API
    /// token an integration acts through.
    pub fn actor(&self) -> domain::event::Actor {
        match self.via {
            Via::Token(t) => domain::event::Actor::Integration(t),
            Via::Session { .. } | Via::Cli => domain::event::Actor::User(self.user_id),
        }
    }
    pub fn require_admin(&self) -> Result<(), EngineError> {
        if self.role.can_administer() {
            Ok(())
        } else {
            Err(EngineError::Forbidden(Code::AdminsOnly.into()))
        }
    }
    pub fn require_ticket_work(&self) -> Result<(), EngineError> {
        if self.role.can_work_tickets() {
            Ok(())
        } else {
            Err(EngineError::Forbidden(Code::LightAgentLimits.into()))
        }
    }
}

/// The services, sharing one store. The store is private: callers above the
/// engine reach data only through its services.
#[derive(Clone)]
pub struct Engine {
    pub(crate) store: Store,
    pub limits: Limits,
    pub auth: auth::AuthState,
    /// Seals stored credentials and signs reply addresses.
    pub secret: secret::SecretKey,
    /// Sends email; `None` leaves email replies failed with a clear reason.
    pub mail: Option<Arc<dyn email::MailTransport>>,
    /// Turns for CPU-heavy work (hashing, sanitising, parsing).
    pub cpu: cpu::CpuGate,
    /// The full-text index, when one is installed; lists then search with it.
    pub search: Option<Arc<dyn search::TextSearch>>,
    /// The answer bot's and triage's models, when installed; without them the
    /// bot hands every conversation to a person.
    pub assistant: Option<Arc<dyn assist::Assistant>>,
    pub(crate) assist_training: assist::Training,
    /// Texts' embeddings already asked of providers on this node.
    pub(crate) embedding_cache: ai::EmbeddingCache,
    /// Help-center views and searches counted between writes.
    pub kb_activity: kb_activity::KbActivity,
    /// Tracked links cached and their clicks counted between writes.
    pub tracking: tracking::Tracking,
    /// The Telegram Bot API; `None` leaves Telegram channels unconnectable.
    pub telegram: Option<Arc<dyn telegram::TelegramApi>>,
    /// The WhatsApp Cloud API; `None` leaves WhatsApp channels unconnectable.
    pub whatsapp: Option<Arc<dyn whatsapp::WhatsappApi>>,
    /// VK's API; `None` leaves VK channels unconnectable.
    pub vk: Option<Arc<dyn vk::VkApi>>,
    /// The server's address as the outside world reaches it (`https://desk.shop`):
    /// messengers deliver their webhooks there.
    pub public_url: Option<String>,
}

impl Engine {
    /// An engine with a fresh random key and no mail transport; servers set both.
    pub fn new(store: Store, limits: Limits) -> Engine {
        Engine {
            store,
            limits,
            auth: auth::AuthState::default(),
            secret: secret::SecretKey::generate(),
            mail: None,
            cpu: cpu::CpuGate::default(),
            search: None,
            assistant: None,
            assist_training: assist::Training::default(),
            embedding_cache: ai::EmbeddingCache::default(),
            kb_activity: kb_activity::KbActivity::default(),
            tracking: tracking::Tracking::default(),
            telegram: None,
            whatsapp: None,
            vk: None,
            public_url: None,
        }
    }

    pub fn with_secret(mut self, key: secret::SecretKey) -> Engine {
        self.secret = key;
        self
    }

    pub fn with_mail(mut self, transport: Arc<dyn email::MailTransport>) -> Engine {
        self.mail = Some(transport);
        self
    }

    pub fn with_telegram(mut self, api: Arc<dyn telegram::TelegramApi>) -> Engine {
        self.telegram = Some(api);
        self
    }

    pub fn with_whatsapp(mut self, api: Arc<dyn whatsapp::WhatsappApi>) -> Engine {
        self.whatsapp = Some(api);
        self
    }

    pub fn with_vk(mut self, api: Arc<dyn vk::VkApi>) -> Engine {
        self.vk = Some(api);
        self
    }

    /// `url` without its trailing slash.
    pub fn with_public_url(mut self, url: Option<String>) -> Engine {
        self.public_url = url.map(|u| u.trim_end_matches('/').to_owned());
        self
    }
}

/// Keeps a page size within 1..=200 (the API's documented bounds), 50 by default.
pub fn page_limit(requested: Option<i64>) -> i64 {
    requested.unwrap_or(50).clamp(1, 200)
}
