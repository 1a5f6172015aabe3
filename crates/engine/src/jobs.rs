//! The kinds of delayed work, as one typed enum. Stored as the job row's `kind`
//! (the tag) and `payload` (the variant's fields); the worker's dispatch matches it
//! exhaustively, so a new kind cannot be queued without a handler.

use crate::EngineError;
use domain::Timestamp;
use domain::ids::*;
use serde::{Deserialize, Serialize};
use store::Tx;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Job {
    /// Deliver a public reply through its ticket's channel.
    DeliverMessage {
        workspace_id: WorkspaceId,
        message_id: MessageId,
    },
    /// Acknowledge a new email ticket to its sender.
    EmailAutoAck(AutoAck),
    /// A chat reply the visitor has not read: send it to their email address.
    ChatEmail {
        workspace_id: WorkspaceId,
        message_id: MessageId,
    },
    /// An agent's message in a side conversation with an outside address.
    SideEmail {
        workspace_id: WorkspaceId,
        side_message_id: SideMessageId,
    },
    /// A survey to mail to the customer (CSAT after a solve, NPS when due).
    SurveyEmail {
        workspace_id: WorkspaceId,
        survey_id: SurveyId,
    },
    /// A CSAT survey to ask in its ticket's conversation (chat, messengers).
    SurveyChat {
        workspace_id: WorkspaceId,
        survey_id: SurveyId,
    },
    /// A customer's NPS survey comes due: made and mailed unless surveys are
    /// off for them or they were asked too recently.
    NpsDue {
        workspace_id: WorkspaceId,
        customer_id: CustomerId,
    },
    /// A weekly or monthly report digest is due (`start`: the period's first
    /// local date): claimed once, mailed to each recipient, the next queued.
    ReportDigest {
        workspace_id: WorkspaceId,
        period: domain::digest::DigestPeriod,
        start: String,
    },
    /// One person's copy of a digest.
    DigestEmail {
        workspace_id: WorkspaceId,
        user_id: UserId,
        period: domain::digest::DigestPeriod,
        start: String,
    },
    /// A snoozed ticket's moment (`at`, Unix ms): it opens again unless the
    /// snooze ended or moved since.
    WakeTicket {
        workspace_id: WorkspaceId,
        ticket_id: TicketId,
        at: i64,
    },
    /// A person's reminder about a ticket comes due.
    Remind {
        workspace_id: WorkspaceId,
        reminder_id: ReminderId,
    },
    /// The moment a ticket's next SLA warning or breach falls (`at`, Unix ms).
    SlaTimer {
        workspace_id: WorkspaceId,
        ticket_id: TicketId,
        at: i64,
    },
    /// An agent went offline: after the team's grace, their tickets in it that
    /// are still new or open go back to the queue.
    Reroute {
        workspace_id: WorkspaceId,
        user_id: UserId,
        team_id: TeamId,
    },
    /// A step of the workspace's automation sweep: the unclosed tickets after
    /// `after` (see `rules`).
    Automations {
        workspace_id: WorkspaceId,
        after: Option<TicketId>,
    },
    /// A rule's `notify` by email: tell one agent about a ticket.
    NotifyEmail {
        workspace_id: WorkspaceId,
        user_id: UserId,
        ticket_id: TicketId,
        text: String,
    },
    /// Tell one agent something in their linked Telegram chat (a rule's
    /// `notify` with `telegram`, the link's confirmation).
    NotifyTelegram {
        workspace_id: WorkspaceId,
        user_id: UserId,
        ticket_id: Option<TicketId>,
        text: String,
    },
    /// Read one customer message: language, category, urgency, sentiment.
    Triage {
        workspace_id: WorkspaceId,
        message_id: MessageId,
    },
    /// The answer bot's turn on one customer message in a conversation.
    BotTurn {
        workspace_id: WorkspaceId,
        message_id: MessageId,
    },
    /// One message an outreach rule caused.
    Outreach {
        workspace_id: WorkspaceId,
        outreach_id: OutreachId,
    },
    /// One attempt at delivering an event to a webhook subscription.
    WebhookDelivery {
        workspace_id: WorkspaceId,
        delivery_id: DeliveryId,
    },
    /// A rule's webhook: POST the ticket to `url`, signed.
    Webhook {
        workspace_id: WorkspaceId,
        rule_id: RuleId,
        ticket_id: TicketId,
        url: String,
    },
    /// Files a messenger named on an inbound message: fetch them through the
    /// account and attach them.
    FetchFiles {
        workspace_id: WorkspaceId,
        account_id: AccountId,
        ticket_id: TicketId,
        message_id: MessageId,
        files: Vec<crate::ingest::RemoteFile>,
    },
    /// Policies or a calendar changed: derive the clocks of the open tickets
    /// after `after` again, a batch at a time.
    SlaReapply {
        workspace_id: WorkspaceId,
        after: Option<TicketId>,
    },
    /// The journey's stage rules changed: the stages of the touchpoints
    /// after `after` again, a batch at a time, and the summaries of their
    /// customers.
    Restage {
        workspace_id: WorkspaceId,
        after: Option<TouchpointId>,
    },
}

/// The acknowledgement of a new email ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AutoAck {
    pub workspace_id: WorkspaceId,
    pub mailbox_id: MailboxId,
    pub ticket_id: TicketId,
    pub to: String,
    pub name: Option<String>,
    pub in_reply_to: Option<String>,
    pub language: Option<String>,
}

impl Job {
    pub fn workspace_id(&self) -> WorkspaceId {
        match self {
            Job::DeliverMessage { workspace_id, .. } => *workspace_id,
            Job::EmailAutoAck(a) => a.workspace_id,
            Job::ChatEmail { workspace_id, .. } => *workspace_id,
            Job::SideEmail { workspace_id, .. } => *workspace_id,
            Job::SurveyEmail { workspace_id, .. } => *workspace_id,
            Job::SurveyChat { workspace_id, .. } => *workspace_id,
            Job::NpsDue { workspace_id, .. } => *workspace_id,
            Job::ReportDigest { workspace_id, .. } => *workspace_id,
            Job::DigestEmail { workspace_id, .. } => *workspace_id,
            Job::SlaTimer { workspace_id, .. } => *workspace_id,
            Job::WakeTicket { workspace_id, .. } => *workspace_id,
            Job::Remind { workspace_id, .. } => *workspace_id,
            Job::SlaReapply { workspace_id, .. } => *workspace_id,
            Job::Restage { workspace_id, .. } => *workspace_id,
            Job::Reroute { workspace_id, .. } => *workspace_id,
            Job::Automations { workspace_id, .. } => *workspace_id,
            Job::Webhook { workspace_id, .. } => *workspace_id,
            Job::NotifyEmail { workspace_id, .. } => *workspace_id,
            Job::FetchFiles { workspace_id, .. } => *workspace_id,
            Job::NotifyTelegram { workspace_id, .. } => *workspace_id,
            Job::WebhookDelivery { workspace_id, .. } => *workspace_id,
            Job::Outreach { workspace_id, .. } => *workspace_id,
            Job::Triage { workspace_id, .. } => *workspace_id,
            Job::BotTurn { workspace_id, .. } => *workspace_id,
        }
    }

    /// The job as stored: kind and payload.
    pub fn to_stored(&self) -> Result<(String, serde_json::Value), EngineError> {
        let mut v = serde_json::to_value(self).map_err(|e| EngineError::Internal(e.to_string()))?;
        let kind = v
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_owned)
            .ok_or_else(|| EngineError::Internal("a job serialised without its kind".into()))?;
        let payload = v.get_mut("payload").map(serde_json::Value::take);
        Ok((kind, payload.unwrap_or_default()))
    }

    /// The job a stored kind and payload describe; the error says why not (a kind
    /// this build does not know, or a payload that does not fit it).
    pub fn from_stored(kind: &str, payload: &serde_json::Value) -> Result<Job, String> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
            .map_err(|e| format!("job kind {kind:?} cannot run in this build: {e}"))
    }

    /// Queues the job in `tx`, to run at `run_at`.
    pub async fn enqueue(&self, tx: &mut Tx, run_at: Timestamp) -> Result<i64, EngineError> {
        let (kind, payload) = self.to_stored()?;
        Ok(store::jobs::enqueue(tx, Some(self.workspace_id()), &kind, &payload, run_at).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_read_back_from_kind_and_payload() {
        let jobs = [
            Job::DeliverMessage {
                workspace_id: WorkspaceId::new(),
                message_id: MessageId::new(),
            },
            Job::EmailAutoAck(AutoAck {
                workspace_id: WorkspaceId::new(),
                mailbox_id: MailboxId::new(),
                ticket_id: TicketId::new(),
                to: "anna@example.com".into(),
                name: Some("Анна".into()),
                in_reply_to: None,
                language: Some("ru".into()),
            }),
            Job::ChatEmail {
                workspace_id: WorkspaceId::new(),
                message_id: MessageId::new(),
            },
            Job::SlaTimer {
                workspace_id: WorkspaceId::new(),
                ticket_id: TicketId::new(),
                at: 1_800_000_000_000,
            },
            Job::WakeTicket {
                workspace_id: WorkspaceId::new(),
                ticket_id: TicketId::new(),
                at: 1_800_000_000_000,
            },
            Job::Remind {
                workspace_id: WorkspaceId::new(),
                reminder_id: ReminderId::new(),
            },
            Job::SlaReapply {
                workspace_id: WorkspaceId::new(),
                after: Some(TicketId::new()),
            },
            Job::Restage {
                workspace_id: WorkspaceId::new(),
                after: Some(TouchpointId::new()),
            },
            Job::Reroute {
                workspace_id: WorkspaceId::new(),
                user_id: UserId::new(),
                team_id: TeamId::new(),
            },
        ];
        for j in jobs {
            let (kind, payload) = j.to_stored().unwrap();
            assert!(payload.get("kind").is_none());
            assert_eq!(Job::from_stored(&kind, &payload).unwrap(), j);
        }
        let (kind, _) = Job::DeliverMessage {
            workspace_id: WorkspaceId::new(),
            message_id: MessageId::new(),
        }
        .to_stored()
        .unwrap();
        assert_eq!(kind, "deliver_message", "stored kinds keep their names");
        let err = Job::from_stored("test.unknown_kind", &serde_json::json!({})).unwrap_err();
        assert!(err.contains("test.unknown_kind"), "{err}");
        let err = Job::from_stored("deliver_message", &serde_json::json!({"workspace_id": 1}))
            .unwrap_err();
        assert!(err.contains("deliver_message"), "{err}");
    }
}
