//! Phone channels: a PBX or cloud telephony service reports its calls to
//! `POST /hooks/phone/{id}`, signed with the channel's secret (a channel
//! account of kind `phone`; its lines — numbers — each map to a team).
//!
//! A ringing call pops up on the screens of the line's team with the caller's
//! profile and open tickets (a live signal to every node, never stored). A
//! call that ended after an answer, or that was missed, is a customer
//! message on the phone channel through the one ingest path (keyed by the
//! call id, so a repeated report is the same call): it continues the
//! caller's open phone conversation or opens a ticket in the line's team,
//! with whoever answered as the assignee; a missed call is tagged for a call
//! back. Calls appear on the customer's timeline as their messages do.
//!
//! The signature: `X-Otklik-Timestamp` (Unix seconds, within 5 minutes) and
//! `X-Otklik-Signature: v1=` the hex HMAC-SHA256 of `timestamp.body` under the
//! channel's secret — the scheme Otklik's own webhooks use.

use crate::ingest::{AccountRef, Content, CustomerMessage, Inbound, Sender, Thread};
use crate::messenger::{HookRefusal, NewAccount, same_secret};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::identity::{Identity, IdentityKind};
use domain::ids::*;
use domain::message;
use domain::ticket::{Channel, Status};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::channels::{self, Account};

/// How far a call report's timestamp may be from the server's clock.
pub const MAX_SKEW_S: i64 = 300;
/// Most lines one channel has.
pub const MAX_LINES: usize = 100;
/// Open tickets a screen-pop lists.
const POP_TICKETS: usize = 5;

/// One number of the channel and who answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// E.164.
    pub number: String,
    pub name: String,
    pub team_id: Option<TeamId>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Settings {
    lines: Vec<Line>,
}

/// A phone channel as admins see it.
#[derive(Clone, Debug)]
pub struct PhoneChannel {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub lines: Vec<Line>,
    /// Where the telephony service posts its call events.
    pub events_url: Option<String>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new phone channel, or the changes to one (`None` keeps).
#[derive(Clone, Debug, Default)]
pub struct PhoneInput {
    pub name: Option<String>,
    pub lines: Option<Vec<Line>>,
    pub active: Option<bool>,
    /// A new signing secret (returned once); the old one stops at once.
    pub rotate_secret: bool,
}

/// What happened to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Ringing,
    Answered,
    Ended,
    Missed,
}

/// One report of a call, as the telephony service sends it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallEvent {
    /// The service's id of the call: the same for all its events.
    pub call_id: String,
    pub event: CallState,
    /// The caller's number.
    pub from: String,
    /// The number called.
    pub to: String,
    /// The line, when it is not `to` (a number behind an IVR).
    #[serde(default)]
    pub line: Option<String>,
    /// Who answered: an agent's email address.
    #[serde(default)]
    pub agent: Option<String>,
    /// Talk time of an ended call.
    #[serde(default, deserialize_with = "domain::number::whole_opt")]
    pub duration_s: Option<i64>,
    #[serde(default)]
    pub recording_url: Option<String>,
}

/// What a call event came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Shown to this many agents.
    Popped(usize),
    /// Recorded on this ticket (new, or the same call again).
    Recorded {
        ticket_id: TicketId,
        duplicate: bool,
    },
    /// Nothing to keep (an answer, already shown).
    Noted,
}

fn phone(field: &str, raw: &str) -> Result<String, EngineError> {
    Identity::parse(IdentityKind::Phone, raw)
        .map(|i| i.value().to_owned())
        .map_err(|_| {
            EngineError::invalid(
                field,
                Message::new(Code::Phone).with("raw", format!("{:?}", raw)),
            )
        })
}

fn lines_checked(lines: Vec<Line>) -> Result<Vec<Line>, EngineError> {
    if lines.len() > MAX_LINES {
        return Err(EngineError::invalid("lines", message::at_most(MAX_LINES)));
    }
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        if l.number.chars().count() > 40 {
            return Err(EngineError::invalid(
                format!("lines[{i}].number"),
                message::max_chars(40),
            ));
        }
        let number = phone(&format!("lines[{i}].number"), &l.number)?;
        // A number written twice (`+7 495 …` and `+7495…`) is one line: the
        // first says where it goes.
        if out.iter().any(|o| o.number == number) {
            continue;
        }
        let name = domain::text::clean_line(&l.name);
        if name.is_empty() || name.chars().count() > 100 {
            return Err(EngineError::invalid(
                format!("lines[{i}].name"),
                message::chars(1, 100),
            ));
        }
        out.push(Line {
            number,
            name,
            team_id: l.team_id,
        });
    }
    Ok(out)
}

/// `v1=` and the hex HMAC-SHA256 of `timestamp.body` under the secret: the
/// scheme of Otklik's own webhooks.
pub use crate::webhook::signature;

impl Engine {
    fn phone_view(&self, a: Account) -> Result<PhoneChannel, EngineError> {
        let s: Settings = serde_json::from_value(a.settings.clone())
            .map_err(|e| EngineError::Internal(format!("phone channel {}: {e}", a.id)))?;
        Ok(PhoneChannel {
            events_url: self
                .public_url
                .as_ref()
                .map(|u| format!("{u}/hooks/phone/{}", a.id)),
            id: a.id,
            workspace_id: a.workspace_id,
            name: a.name,
            lines: s.lines,
            active: a.active,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }

    async fn check_lines(&self, p: &Principal, lines: &[Line]) -> Result<(), EngineError> {
        for l in lines {
            self.check_channel_team(p, l.team_id).await?;
        }
        Ok(())
    }

    /// Creates a phone channel; returns it with its signing secret, shown
    /// this once.
    pub async fn create_phone_channel(
        &self,
        p: &Principal,
        input: PhoneInput,
    ) -> Result<(PhoneChannel, String), EngineError> {
        p.require_admin()?;
        let name = crate::chat::required_line(input.name, "name", 100)?;
        let lines = lines_checked(input.lines.unwrap_or_default())?;
        self.check_lines(p, &lines).await?;
        let secret = crate::auth::new_secret("");
        let sealed = self.secret.seal(secret.as_bytes());
        let active = input.active.unwrap_or(true);
        let id = AccountId::new();
        let a = self
            .insert_channel(
                p,
                NewAccount {
                    id,
                    kind: Channel::Phone,
                    name,
                    address: id.to_string(),
                    inbound_kind: "webhook",
                    secrets: sealed,
                    settings: json!(Settings { lines }),
                    active,
                },
                "this channel exists already",
            )
            .await?;
        Ok((self.phone_view(a)?, secret))
    }

    pub async fn phone_channels(&self, p: &Principal) -> Result<Vec<PhoneChannel>, EngineError> {
        self.channel_accounts(p, Channel::Phone)
            .await?
            .into_iter()
            .map(|a| self.phone_view(a))
            .collect()
    }

    pub async fn phone_channel(
        &self,
        p: &Principal,
        id: AccountId,
    ) -> Result<PhoneChannel, EngineError> {
        p.require_admin()?;
        self.phone_view(
            self.channel_account(p.workspace_id, id, Channel::Phone)
                .await?,
        )
    }

    /// Changes a channel; with `rotate_secret`, also returns the new secret.
    pub async fn update_phone_channel(
        &self,
        p: &Principal,
        id: AccountId,
        input: PhoneInput,
    ) -> Result<(PhoneChannel, Option<String>), EngineError> {
        let current = self.phone_channel(p, id).await?;
        let name = match input.name {
            Some(n) => crate::chat::required_line(Some(n), "name", 100)?,
            None => current.name.clone(),
        };
        let lines = match input.lines {
            Some(l) => lines_checked(l)?,
            None => current.lines.clone(),
        };
        self.check_lines(p, &lines).await?;
        let secret = input.rotate_secret.then(|| crate::auth::new_secret(""));
        let sealed = secret.as_ref().map(|s| self.secret.seal(s.as_bytes()));
        let active = input.active.unwrap_or(current.active);
        let a = self
            .save_channel(p, id, (name, active), sealed, json!(Settings { lines }))
            .await?;
        Ok((self.phone_view(a)?, secret))
    }

    /// Checks a call report's timestamp and signature against the channel the
    /// path names (across workspaces: the secret proves the caller).
    pub async fn phone_hook(
        &self,
        id: AccountId,
        timestamp: Option<&str>,
        signature_header: Option<&str>,
        body: &[u8],
    ) -> Result<AccountRef, HookRefusal> {
        let a = self.hook_account(id, Channel::Phone).await?;
        let (Some(ts), Some(sig)) = (timestamp, signature_header) else {
            return Err(HookRefusal::Unsigned);
        };
        let secret = self.open_plain(&a).ok_or(HookRefusal::Unknown)?;
        let Some(ts) = ts
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|t| (t - self.store.now().millis() / 1000).abs() <= MAX_SKEW_S)
        else {
            return Err(HookRefusal::BadSecret);
        };
        if !same_secret(sig.trim(), &signature(&secret, ts, body)) {
            return Err(HookRefusal::BadSecret);
        }
        Ok(AccountRef {
            id: a.id,
            workspace_id: a.workspace_id,
            kind: Channel::Phone,
        })
    }

    /// Acts on one verified call report.
    pub async fn phone_event(
        &self,
        account: &AccountRef,
        e: CallEvent,
    ) -> Result<CallOutcome, EngineError> {
        let ws = account.workspace_id;
        let call_id = domain::text::clean_line(&e.call_id);
        if call_id.is_empty() || call_id.len() > 200 {
            return Err(EngineError::invalid("call_id", message::chars(1, 200)));
        }
        if e.duration_s.is_some_and(|d| !(0..=86_400).contains(&d)) {
            return Err(EngineError::invalid("duration_s", Code::CallDuration));
        }
        let from = phone("from", &e.from)?;
        let number = phone(
            if e.line.is_some() { "line" } else { "to" },
            e.line.as_deref().unwrap_or(&e.to),
        )?;
        let a = {
            let mut c = self.store.read().await?;
            channels::get(&mut c.conn(), ws, account.id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        let settings: Settings = serde_json::from_value(a.settings.clone())
            .map_err(|e| EngineError::Internal(format!("phone channel {}: {e}", a.id)))?;
        let line = settings.lines.iter().find(|l| l.number == number).cloned();
        let line_name = line
            .as_ref()
            .map(|l| l.name.clone())
            .unwrap_or_else(|| number.clone());
        let team = line.as_ref().and_then(|l| l.team_id);
        match e.event {
            CallState::Ringing => {
                let shown = self
                    .screen_pop(ws, &call_id, &from, &line_name, team)
                    .await?;
                Ok(CallOutcome::Popped(shown))
            }
            CallState::Answered => {
                self.signal(json!({"t": "call_answered", "ws": ws.to_string(), "call": call_id}));
                Ok(CallOutcome::Noted)
            }
            CallState::Ended | CallState::Missed => {
                let missed = e.event == CallState::Missed;
                let agent = match (&e.agent, missed) {
                    (Some(email), false) => {
                        let mut c = self.store.read().await?;
                        store::people::user_by_email(
                            &mut c.conn(),
                            ws,
                            &email.trim().to_lowercase(),
                        )
                        .await?
                        .map(|(u, _)| u)
                        .filter(|u| u.active)
                    }
                    _ => None,
                };
                let recording = e.recording_url.as_deref().map(str::trim).filter(|u| {
                    u.len() <= 2000 && (u.starts_with("https://") || u.starts_with("http://"))
                });
                let text = if missed {
                    format!("📞 Missed call from {from} on the line “{line_name}”: call back.")
                } else {
                    let d = e.duration_s.unwrap_or(0);
                    let by = agent
                        .as_ref()
                        .map(|u| format!(", answered by {}", u.name))
                        .unwrap_or_default();
                    let mut t = format!(
                        "📞 Call from {from} on the line “{line_name}”{by}, {} min {:02} s.",
                        d / 60,
                        d % 60
                    );
                    if let Some(r) = recording {
                        t.push_str(&format!("\nRecording: {r}"));
                    }
                    t
                };
                self.signal(json!({"t": "call_answered", "ws": ws.to_string(), "call": call_id}));
                let got = self
                    .ingest(Inbound {
                        account: *account,
                        external_id: format!("call:{call_id}"),
                        global_id: false,
                        sent_at: None,
                        original: None,
                        content: Content::Message(Box::new(CustomerMessage {
                            sender: Sender {
                                handle: from.clone(),
                                name: None,
                                customer: None,
                            },
                            thread: Thread {
                                conversation: true,
                                ..Thread::default()
                            },
                            subject: Some(if missed {
                                format!("Missed call from {from}")
                            } else {
                                format!("Call from {from}")
                            }),
                            text,
                            team,
                            tags: if missed {
                                vec!["missed-call".into(), "callback".into()]
                            } else {
                                Vec::new()
                            },
                            assignee: agent.map(|u| u.id),
                            ..CustomerMessage::default()
                        })),
                    })
                    .await?;
                Ok(CallOutcome::Recorded {
                    ticket_id: got.ticket_id.ok_or_else(|| {
                        EngineError::Internal("a call was not made a ticket".into())
                    })?,
                    duplicate: got.duplicate,
                })
            }
        }
    }

    /// Shows a ringing call to the agents of the line's team (every active
    /// agent when the line has none): the caller, if known, with their open
    /// tickets. Returns how many agents it was shown to.
    async fn screen_pop(
        &self,
        ws: WorkspaceId,
        call_id: &str,
        from: &str,
        line: &str,
        team: Option<TeamId>,
    ) -> Result<usize, EngineError> {
        let mut c = self.store.read().await?;
        let agents: Vec<UserId> = match team {
            Some(t) => store::people::team_members(&mut c.conn(), ws, t).await?,
            None => store::people::list_users(&mut c.conn(), ws, None, 500)
                .await?
                .into_iter()
                .filter(|u| u.active)
                .map(|u| u.id)
                .collect(),
        };
        // The caller as a phone number, else as the same number on WhatsApp
        // when that is theirs alone.
        let identity = Identity::parse(IdentityKind::Phone, from)?;
        let twin = Identity::parse(IdentityKind::Whatsapp, identity.value())?;
        let holders = store::customers::owners_of(&mut c.conn(), ws, &[identity, twin]).await?;
        let caller = match holders.as_slice() {
            [Some(h), _] => Some(h.customer_id),
            [None, Some(h)] if h.verified && !h.shared => Some(h.customer_id),
            _ => None,
        };
        let customer = match caller {
            Some(id) => store::customers::get(&mut c.conn(), ws, id).await?,
            None => None,
        };
        let (customer_json, tickets) = match &customer {
            Some(cu) => {
                let filter = store::tickets::Filter {
                    customer: Some(cu.id),
                    ..Default::default()
                };
                let open = store::tickets::list(&mut c.conn(), ws, &filter, None, 50)
                    .await?
                    .into_iter()
                    .filter(|t| !matches!(t.status, Status::Solved | Status::Closed))
                    .take(POP_TICKETS)
                    .map(|t| json!({"number": t.number, "subject": t.subject, "status": t.status.as_str()}))
                    .collect::<Vec<_>>();
                (
                    json!({"id": cu.id.to_string(), "name": cu.name, "tags": cu.tags}),
                    open,
                )
            }
            None => (serde_json::Value::Null, Vec::new()),
        };
        self.signal(json!({
            "t": "call", "ws": ws.to_string(), "call": call_id, "from": from, "line": line,
            "users": agents.iter().map(|u| u.to_string()).collect::<Vec<_>>(),
            "customer": customer_json, "tickets": tickets,
        }));
        Ok(agents.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_the_time_and_the_body() {
        // printf '%s' '1795000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let s = signature("secret", 1_795_000_000, br#"{"a":1}"#);
        assert_eq!(
            s,
            "v1=f9e0bd0d1a561fbfdabec6356500586e2c72d7d797314b41b8380761868d6c25"
        );
    }

    #[test]
    fn lines_are_numbers_named_once() {
        let l = |n: &str| Line {
            number: n.into(),
            name: "Доставка".into(),
            team_id: None,
        };
        let ok = lines_checked(vec![l("+7 495 123-45-67")]).unwrap();
        assert_eq!(ok[0].number, "+74951234567");
        let twice = lines_checked(vec![l("+74951234567"), l("+7 495 123 45 67")]).unwrap();
        assert_eq!(twice.len(), 1, "one number, one line");
        assert!(lines_checked(vec![l("not a number")]).is_err());
    }
}
