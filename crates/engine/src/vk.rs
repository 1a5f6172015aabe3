//! VK channels (Callback API): a community (a channel account of kind `vk`,
//! addressed by its group id) whose private messages reach the inbox through
//! VK's callback, and whose replies leave through `messages.send`.
//!
//! VK first asks the server to confirm it (`type: confirmation`), which is
//! answered with the community's confirmation string; every event then
//! carries the secret key set in the community's callback settings, compared
//! before anything is read further. `message_new` of a private conversation
//! goes through the one ingest path at once (record `peer:id`); its
//! attachments are fetched afterwards by `Job::FetchFiles` (photos and
//! documents by their address on VK's servers, voice messages as Ogg).
//! Replies carry a `random_id` derived from the message and the part, so a
//! retried send is not delivered twice (VK drops a repeated `random_id`).
//!
//! Invariants: the token, secret and confirmation are stored sealed and never
//! returned; an event without the community's secret stores nothing; files
//! are fetched only from VK's own hosts (or the configured API's host).

use crate::ingest::{AccountRef, Content, CustomerMessage, Inbound, RemoteFile, Sender, Thread};
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
use domain::ticket::Channel;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::channels::Account;

/// VK's API with the version this build speaks (`v` is sent with each call).
pub const DEFAULT_API_BASE: &str = "https://api.vk.com/method";
pub const API_VERSION: &str = "5.199";
/// Longest text of one VK message, in characters.
pub const MAX_TEXT: usize = 4096;
/// Where VK serves files from (besides the configured API's own host).
const VK_HOSTS: [&str; 6] = [
    "vk.com",
    "vk.me",
    "userapi.com",
    "vkuser.net",
    "vk-cdn.net",
    "vkuseraudio.net",
];

/// A community's side of the API.
#[derive(Clone, Copy, Debug)]
pub struct Community<'a> {
    /// `https://api.vk.com/method`, or a stand-in.
    pub base: &'a str,
    pub group_id: &'a str,
    pub token: &'a str,
}

/// What VK says of the community (checks the token too).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: Option<String>,
    pub screen_name: Option<String>,
}

/// What a callback event brings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// VK asks for the confirmation string.
    Confirmation,
    /// A private message from a person.
    Message(Received),
    /// Anything else (the community's own messages echoed, group chats, …).
    Other,
}

/// A person's private message, as the inbox needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub from_id: i64,
    pub peer_id: i64,
    pub id: i64,
    /// Unix seconds.
    pub date: i64,
    pub text: String,
    /// Files by their address on VK's servers.
    pub files: Vec<RemoteFile>,
}

/// VK's API, as the engine needs it (implemented over HTTP by the channels
/// crate; every call bounded in time and size there).
pub trait VkApi: Send + Sync {
    /// `groups.getById`.
    fn group_info<'a>(&'a self, c: Community<'a>) -> BoxFuture<'a, Result<GroupInfo, RemoteError>>;
    /// `messages.send`, with an inline keyboard of `open_link` buttons when
    /// there are any; returns the message's id.
    fn send<'a>(
        &'a self,
        c: Community<'a>,
        peer_id: i64,
        random_id: i32,
        text: &'a str,
        attachment: Option<&'a str>,
        buttons: &'a [crate::messenger::LinkButton],
    ) -> BoxFuture<'a, Result<i64, RemoteError>>;
    /// Uploads a file for a conversation (a photo through the photo server,
    /// anything else as a document); returns the attachment to send
    /// (`photo{owner}_{id}`, `doc{owner}_{id}`).
    fn upload<'a>(
        &'a self,
        c: Community<'a>,
        peer_id: i64,
        file: &'a OutFile,
    ) -> BoxFuture<'a, Result<String, RemoteError>>;
    /// A file by its address, at most `max` bytes.
    fn download<'a>(
        &'a self,
        url: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>>;
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    access_token: String,
    secret: String,
    confirmation: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    api_base_url: String,
    name: Option<String>,
    screen_name: Option<String>,
    team_id: Option<TeamId>,
}

/// A VK channel as admins see it (never its secrets).
#[derive(Clone, Debug)]
pub struct VkChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub group_id: String,
    pub group_name: Option<String>,
    pub screen_name: Option<String>,
    pub api_base_url: String,
    /// The callback address to give VK, with the secret key.
    pub webhook_url: Option<String>,
    pub team_id: Option<TeamId>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new VK channel, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct VkInput {
    pub name: Option<String>,
    pub group_id: Option<String>,
    pub access_token: Option<String>,
    pub secret: Option<String>,
    pub confirmation: Option<String>,
    pub api_base_url: Option<String>,
    pub active: Option<bool>,
    pub team_id: Option<Option<TeamId>>,
}

type Opened = crate::messenger::Opened<Secrets, Settings>;

impl Opened {
    fn community(&self) -> Community<'_> {
        Community {
            base: &self.settings.api_base_url,
            group_id: &self.account.address,
            token: &self.secrets.access_token,
        }
    }
}

fn group_id(v: &str) -> Result<String, EngineError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) || v == "0" {
        return Err(EngineError::invalid("group_id", Code::VkGroupId));
    }
    Ok(v.to_owned())
}

fn missing(field: &str) -> EngineError {
    EngineError::invalid(field, Code::Required)
}

/// The `random_id` of one part of one message: the same on every retry, so
/// VK delivers it once.
pub fn random_id(message: MessageId, part: usize) -> i32 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest([message.0.as_bytes().as_slice(), &part.to_be_bytes()].concat());
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) & 0x7fff_ffff;
    // Zero means "no random_id" to VK.
    i32::try_from(n.max(1)).unwrap_or(1)
}

/// Whether a file address is VK's (or the configured API's host): updates
/// name files by address, and nothing else may be fetched on their word.
pub fn fetchable(url: &str, api_base: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = u.host_str() else {
        return false;
    };
    let api_host = reqwest::Url::parse(api_base)
        .ok()
        .and_then(|b| b.host_str().map(str::to_owned));
    if api_host.as_deref() == Some(host) && matches!(u.scheme(), "http" | "https") {
        return true;
    }
    u.scheme() == "https"
        && VK_HOSTS
            .iter()
            .any(|h| host == *h || host.ends_with(&format!(".{h}")))
}

impl Engine {
    fn vk_api(&self) -> Result<&dyn VkApi, EngineError> {
        self.vk
            .as_deref()
            .ok_or_else(|| EngineError::Internal("no VK transport installed".into()))
    }

    fn open_vk(&self, a: Account) -> Result<Opened, EngineError> {
        self.open_account(a)
    }

    fn vk_view(&self, a: Account) -> Result<VkChannel, EngineError> {
        let s: Settings = settings_of(&a)?;
        Ok(VkChannel {
            webhook_url: self.hook_url(Channel::Vk, a.id),
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            group_id: a.address,
            group_name: s.name,
            screen_name: s.screen_name,
            api_base_url: s.api_base_url,
            team_id: s.team_id,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    /// Connects a community: checks the token (`groups.getById`) and keeps
    /// the channel. The callback (address, secret key, confirmation) is set in
    /// the community's settings by the admin.
    pub async fn create_vk_channel(
        &self,
        p: &Principal,
        input: VkInput,
    ) -> Result<VkChannel, EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(input.name, "name", 100)?;
        let group = group_id(
            input
                .group_id
                .as_deref()
                .ok_or_else(|| missing("group_id"))?,
        )?;
        let secrets = Secrets {
            access_token: secret_field(
                "access_token",
                input
                    .access_token
                    .as_deref()
                    .ok_or_else(|| missing("access_token"))?,
            )?,
            secret: secret_field(
                "secret",
                input.secret.as_deref().ok_or_else(|| missing("secret"))?,
            )?,
            confirmation: secret_field(
                "confirmation",
                input
                    .confirmation
                    .as_deref()
                    .ok_or_else(|| missing("confirmation"))?,
            )?,
        };
        let base = parse_base(input.api_base_url.as_deref().unwrap_or(DEFAULT_API_BASE))?;
        let team_id = input.team_id.flatten();
        self.check_channel_team(p, team_id).await?;
        let id = AccountId::new();
        if self.hook_url(Channel::Vk, id).is_none() {
            return Err(EngineError::Conflict(
                Message::new(Code::PublicUrlUnset).label("channel", "channel", "vk"),
            ));
        }
        if self.address_taken(Channel::Vk, &group).await? {
            return Err(EngineError::Conflict(crate::messenger::taken(TAKEN)));
        }
        let info = self
            .vk_api()?
            .group_info(Community {
                base: &base,
                group_id: &group,
                token: &secrets.access_token,
            })
            .await
            .map_err(|e| EngineError::Upstream(e.description))?;
        let sealed = self.seal_json(&secrets)?;
        let settings = Settings {
            api_base_url: base,
            name: info.name,
            screen_name: info.screen_name,
            team_id,
        };
        let a = self
            .insert_channel(
                p,
                NewAccount {
                    id,
                    kind: Channel::Vk,
                    name,
                    address: group,
                    inbound_kind: "webhook",
                    secrets: sealed,
                    settings: json!(settings),
                    active: input.active.unwrap_or(true),
                },
                TAKEN,
            )
            .await?;
        self.vk_view(a)
    }

    pub async fn vk_channels(&self, p: &Principal) -> Result<Vec<VkChannel>, EngineError> {
        self.channel_accounts(p, Channel::Vk)
            .await?
            .into_iter()
            .map(|a| self.vk_view(a))
            .collect()
    }

    async fn vk_account(&self, ws: WorkspaceId, id: AccountId) -> Result<Account, EngineError> {
        self.channel_account(ws, id, Channel::Vk).await
    }

    pub async fn vk_channel(&self, p: &Principal, id: AccountId) -> Result<VkChannel, EngineError> {
        p.require_admin()?;
        self.vk_view(self.vk_account(p.workspace_id, id).await?)
    }

    /// Changes a channel (the community cannot change); a new token or API
    /// base is checked first.
    pub async fn update_vk_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: VkInput,
    ) -> Result<VkChannel, EngineError> {
        p.require_admin()?;
        let mut o = self.open_vk(self.vk_account(p.workspace_id, id).await?)?;
        if let Some(g) = &input.group_id
            && group_id(g)? != o.account.address
        {
            return Err(EngineError::invalid("group_id", Code::VkOtherCommunity));
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
        if let Some(t) = &input.secret {
            o.secrets.secret = secret_field("secret", t)?;
        }
        if let Some(t) = &input.confirmation {
            o.secrets.confirmation = secret_field("confirmation", t)?;
        }
        if let Some(b) = &input.api_base_url {
            o.settings.api_base_url = parse_base(b)?;
            recheck = true;
        }
        if let Some(t) = input.team_id {
            self.check_channel_team(p, t).await?;
            o.settings.team_id = t;
        }
        if recheck {
            let info = self
                .vk_api()?
                .group_info(o.community())
                .await
                .map_err(|e| EngineError::Upstream(e.description))?;
            o.settings.name = info.name;
            o.settings.screen_name = info.screen_name;
        }
        let sealed = self.seal_json(&o.secrets)?;
        let settings = json!(o.settings);
        let active = input.active.unwrap_or(o.account.active);
        let a = self
            .save_channel(p, id, (name, active), Some(sealed), settings)
            .await?;
        self.vk_view(a)
    }

    /// Checks an event's secret key and group against the channel the path
    /// names (across workspaces: the secret proves the caller is VK).
    /// Returns the account, and the confirmation string for VK's check.
    pub async fn vk_hook(
        &self,
        id: AccountId,
        secret: Option<&str>,
        group: Option<i64>,
    ) -> Result<(AccountRef, String), HookRefusal> {
        let a = self.hook_account(id, Channel::Vk).await?;
        let o = self.open_vk(a).map_err(|e| {
            tracing::error!(error = %e, "a VK channel's credentials cannot be opened");
            HookRefusal::Unknown
        })?;
        let Some(secret) = secret else {
            return Err(HookRefusal::Unsigned);
        };
        if !same_secret(secret, &o.secrets.secret)
            || group.map(|g| g.to_string()) != Some(o.account.address.clone())
        {
            return Err(HookRefusal::BadSecret);
        }
        Ok((
            AccountRef {
                id: o.account.id,
                workspace_id: o.account.workspace_id,
                kind: Channel::Vk,
            },
            o.secrets.confirmation,
        ))
    }

    /// Takes a verified private message in through the one ingest path.
    pub async fn vk_inbound(
        &self,
        account: &AccountRef,
        m: Received,
    ) -> Result<crate::ingest::Ingested, EngineError> {
        self.ingest(Inbound {
            account: *account,
            external_id: format!("{}:{}", m.peer_id, m.id),
            global_id: false,
            sent_at: Some(Timestamp::from_millis(m.date.saturating_mul(1000))),
            original: None,
            content: Content::Message(Box::new(CustomerMessage {
                sender: Sender {
                    handle: m.from_id.to_string(),
                    name: None,
                    customer: None,
                },
                thread: Thread {
                    conversation: true,
                    ..Thread::default()
                },
                text: m.text,
                remote_files: m.files,
                ..CustomerMessage::default()
            })),
        })
        .await
    }

    /// Fetches a message's files from VK's servers (only theirs).
    pub(crate) async fn fetch_vk_files(
        &self,
        account: Account,
        files: &[RemoteFile],
        attempts: i64,
    ) -> Result<Fetched, EngineError> {
        let o = self.open_vk(account)?;
        let api = self.vk_api()?;
        let max = self.limits.max_attachment_bytes;
        Ok(crate::remote_files::fetch_each(
            files,
            (self.limits.max_attachments_per_message, max),
            attempts,
            |f| {
                (!fetchable(&f.file_id, &o.settings.api_base_url))
                    .then(|| "not an address on VK's servers".to_owned())
            },
            |f| api.download(&f.file_id, max),
        )
        .await)
    }

    /// Sends a reply to the conversation its ticket came from: text in parts
    /// (the files ride on the last one), each with its own `random_id`.
    pub(crate) async fn deliver_vk(
        &self,
        out: &crate::outbound::Outgoing,
    ) -> Result<Delivery, EngineError> {
        let target = match self.reply_target(out, Channel::Vk).await? {
            Ok(t) => t,
            Err(failed) => return Ok(failed),
        };
        let Ok(peer) = target.address.parse::<i64>() else {
            return Ok(Delivery::Failed(
                Message::new(Code::DeliveryNoConversation).label("kind", "channel", "vk"),
            ));
        };
        let o = match self.open_vk(target.account) {
            Ok(o) => o,
            Err(e) => {
                return Ok(Delivery::Failed(
                    Message::new(Code::DeliveryUnusable)
                        .label("kind", "channel", "vk")
                        .with("reason", e),
                ));
            }
        };
        let api = self.vk_api()?;
        let mut texts: Vec<String> = crate::messenger::split_text(&out.message.body_text, MAX_TEXT)
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect();
        if texts.is_empty() {
            texts.push(String::new());
        }
        let last = texts.len() - 1;
        for (n, text) in texts.iter().enumerate().skip(target.sent) {
            // Files go with the last part, uploaded when it is sent.
            let mut attachment = Vec::new();
            if n == last {
                for a in &out.message.attachments {
                    let file = self.out_file(a).await?;
                    match api.upload(o.community(), peer, &file).await {
                        Ok(att) => attachment.push(att),
                        Err(e) => return Ok(remote_delivery(e)),
                    }
                }
            }
            let attachment = (!attachment.is_empty()).then(|| attachment.join(","));
            let id = match api
                .send(
                    o.community(),
                    peer,
                    random_id(out.message.id, n),
                    text,
                    attachment.as_deref(),
                    match &out.buttons {
                        Some(b) if n == last => &b.choices,
                        _ => &[],
                    },
                )
                .await
            {
                Ok(id) => id,
                Err(e) => return Ok(remote_delivery(e)),
            };
            self.record_part(
                out,
                o.account.id,
                format!("{peer}:{id}"),
                n,
                &target.address,
            )
            .await?;
        }
        Ok(Delivery::Sent)
    }
}

/// What the refusal of a second channel for the same community names.
const TAKEN: &str = "community";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_stable_per_part_and_never_zero() {
        let m = MessageId::new();
        assert_eq!(random_id(m, 0), random_id(m, 0));
        assert_ne!(random_id(m, 0), random_id(m, 1));
        assert_ne!(random_id(m, 0), random_id(MessageId::new(), 0));
        assert!((0..100).all(|i| random_id(MessageId::new(), i) > 0));
    }

    #[test]
    fn only_vk_hosts_are_fetched() {
        let base = "https://api.vk.com/method";
        assert!(fetchable("https://sun9-12.userapi.com/impg/abc.jpg", base));
        assert!(fetchable("https://vk.com/doc1_2?hash=x", base));
        assert!(fetchable(
            "http://127.0.0.1:9/file",
            "http://127.0.0.1:9/method"
        ));
        for bad in [
            "http://sun9-12.userapi.com/a.jpg",
            "https://evil.example/userapi.com",
            "https://userapi.com.evil.example/a",
            "http://127.0.0.1:9/file",
            "file:///etc/passwd",
        ] {
            assert!(!fetchable(bad, base), "{bad}");
        }
    }
}
