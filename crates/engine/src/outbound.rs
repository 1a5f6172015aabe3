//! The one outbound contract. A public reply leaves through the adapter of its
//! channel, chosen by an exhaustive match: a channel added to the enum does not
//! compile until it is given an adapter (or named as not connected). Before any
//! adapter runs, [`guard`] decides whether the message may leave at all:
//! internal notes and the customer's own messages never do, and messaging
//! channels refuse free-form replies once their window has closed.
//!
//! Delivery states move forward only (`queued → sent → delivered → read`, or
//! `failed` with the reason), each change recorded on the message with its
//! event: the worker records what the adapter answered, and later reports (a
//! bounce, a messenger's receipt) arrive through [`crate::ingest`].

use crate::{Engine, EngineError};
use domain::Timestamp;
use domain::ticket::{AuthorKind, Channel, DeliveryState, Visibility};
use futures::future::BoxFuture;
use store::tickets::{Message, Ticket};

/// One reply to send, with its ticket.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub message: Message,
    pub ticket: Ticket,
    /// Attempts made before this one.
    pub attempt: i64,
    /// The messenger template the message is sent as (`message_templates`).
    pub template: Option<serde_json::Value>,
    /// Link buttons to show under the message's last part (a survey's scores).
    pub buttons: Option<crate::messenger::LinkButtons>,
}

/// What one delivery attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The channel took the message.
    Sent,
    /// A passing failure: try again later.
    Retry(domain::Message),
    /// The channel asked to wait this many seconds (a rate limit).
    RetryAfter(domain::Message, u64),
    /// Cannot be delivered: shown on the message.
    Failed(domain::Message),
}

/// Sends replies through one kind of channel. An adapter records the channel's
/// own id for what it sent, so that answers thread and reports find the message.
pub trait Adapter: Send + Sync {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>>;
}

/// Email: SMTP through the mailbox the conversation came in on.
struct EmailAdapter;

impl Adapter for EmailAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(engine.deliver_email(&out.ticket, &out.message, out.attempt))
    }
}

/// Web-form conversations are read back by the integration through the
/// event stream: committing the reply is the delivery.
struct EventStreamAdapter;

/// API conversations: the channel's webhook, when it has one; else, as web
/// forms, the event stream.
struct ApiAdapter;

impl Adapter for ApiAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(engine.deliver_api(out))
    }
}

impl Adapter for EventStreamAdapter {
    fn deliver<'a>(
        &'a self,
        _engine: &'a Engine,
        _out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(async { Ok(Delivery::Sent) })
    }
}

/// Chat replies reach the visitor's widget (live, or from its history when they
/// come back): committing the reply is the delivery. A visitor who left an
/// email address and has not read the reply a while later gets it by email
/// too ([`crate::jobs::Job::ChatEmail`]).
struct ChatAdapter;

impl Adapter for ChatAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(async move {
            engine
                .schedule_chat_email(&out.ticket, &out.message)
                .await?;
            Ok(Delivery::Sent)
        })
    }
}

/// Telegram: the Bot API, through the bot the conversation came in on.
struct TelegramAdapter;

impl Adapter for TelegramAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(engine.deliver_telegram(out))
    }
}

/// WhatsApp: the Cloud API, through the number the conversation came in on.
struct WhatsappAdapter;

impl Adapter for WhatsappAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(engine.deliver_whatsapp(out))
    }
}

/// VK: `messages.send` through the community the conversation came in on.
struct VkAdapter;

impl Adapter for VkAdapter {
    fn deliver<'a>(
        &'a self,
        engine: &'a Engine,
        out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        Box::pin(engine.deliver_vk(out))
    }
}

/// A channel whose transport this version does not have: the reply fails with
/// the reason, visibly, instead of waiting forever.
struct NotConnected(Channel);

impl Adapter for NotConnected {
    fn deliver<'a>(
        &'a self,
        _engine: &'a Engine,
        _out: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Delivery, EngineError>> {
        let channel = self.0;
        Box::pin(async move {
            Ok(Delivery::Failed(
                domain::Message::new(domain::Code::DeliveryNoAdapter)
                    .label("channel", "channel", channel),
            ))
        })
    }
}

/// The adapter of a channel. Exhaustive on purpose: no wildcard arm.
pub fn adapter(channel: Channel) -> Box<dyn Adapter> {
    match channel {
        Channel::Email => Box::new(EmailAdapter),
        Channel::Api => Box::new(ApiAdapter),
        Channel::WebForm => Box::new(EventStreamAdapter),
        Channel::Chat => Box::new(ChatAdapter),
        Channel::Telegram => Box::new(TelegramAdapter),
        Channel::Whatsapp => Box::new(WhatsappAdapter),
        Channel::Vk => Box::new(VkAdapter),
        Channel::Facebook | Channel::Instagram | Channel::Viber | Channel::Phone => {
            Box::new(NotConnected(channel))
        }
    }
}

/// Moves an outbound message's delivery state inside `tx`, with its event, when
/// the new state may follow the current one (a retry may keep it queued with a
/// new reason). Messages that are not outbound have no state and never move.
/// The one place delivery states change: the worker's results and later reports
/// both come through here.
pub(crate) async fn advance_delivery(
    tx: &mut store::Tx,
    m: &Message,
    state: DeliveryState,
    error: Option<domain::Message>,
) -> Result<bool, EngineError> {
    let moves = match m.delivery_state {
        None => false,
        Some(c) => c.can_become(state) || (c == state && state == DeliveryState::Queued),
    };
    if moves {
        let ws = m.workspace_id;
        let stored = error.as_ref().map(domain::Message::to_stored);
        store::tickets::set_delivery(tx, ws, m.id, state, stored.as_deref()).await?;
        tx.emit(
            ws,
            domain::event::Actor::System,
            domain::event::EventData::DeliveryChanged {
                ticket_id: m.ticket_id,
                message_id: m.id,
                state,
                error: error.map(|e| e.to_string()),
            },
        )
        .await?;
    }
    Ok(moves)
}

/// Why a message may not leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It is not an outbound message at all (an internal note, the customer's
    /// own words): nothing is sent and its state stays as it is.
    NeverLeaves(&'static str),
    /// The channel does not accept it now; the message is marked failed.
    Closed(domain::Message),
}

/// The one guard every outbound message passes before an adapter sees it.
/// `customer_wrote_at` is when the ticket's customer last wrote; `template`:
/// the message is an approved template, which the provider takes outside the
/// window.
pub fn guard(
    m: &Message,
    customer_wrote_at: Option<Timestamp>,
    now: Timestamp,
    template: bool,
) -> Result<(), Refusal> {
    if m.visibility == Visibility::Internal {
        return Err(Refusal::NeverLeaves("an internal note"));
    }
    if m.author_kind == AuthorKind::Customer {
        return Err(Refusal::NeverLeaves("the customer's own message"));
    }
    if let Some(window) = m.channel.reply_window_ms().filter(|_| !template) {
        let open_until = customer_wrote_at.map(|t| t.plus_millis(window));
        if open_until.is_none_or(|until| now > until) {
            return Err(Refusal::Closed(
                domain::Message::new(domain::Code::DeliveryWindowClosed)
                    .label("channel", "channel", m.channel)
                    .with("hours", window / 3_600_000),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ids::*;
    use domain::ticket::DeliveryState;

    fn reply(channel: Channel) -> Message {
        Message {
            id: MessageId::new(),
            workspace_id: WorkspaceId::new(),
            ticket_id: TicketId::new(),
            visibility: Visibility::Public,
            author_kind: AuthorKind::Agent,
            author_user_id: Some(UserId::new()),
            author_customer_id: None,
            channel,
            body_text: "Hello".into(),
            body_html: None,
            external_id: None,
            delivery_state: Some(DeliveryState::Queued),
            delivery_error: None,
            account_id: None,
            created_at: Timestamp::from_millis(0),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn notes_and_customer_messages_never_leave() {
        let now = Timestamp::from_millis(1_000);
        let note = Message {
            visibility: Visibility::Internal,
            ..reply(Channel::Email)
        };
        assert!(matches!(
            guard(&note, Some(now), now, false),
            Err(Refusal::NeverLeaves(_))
        ));
        let own = Message {
            author_kind: AuthorKind::Customer,
            ..reply(Channel::Telegram)
        };
        assert!(matches!(
            guard(&own, Some(now), now, false),
            Err(Refusal::NeverLeaves(_))
        ));
        assert_eq!(guard(&reply(Channel::Email), None, now, false), Ok(()));
    }

    #[test]
    fn whatsapp_replies_close_a_day_after_the_customer_wrote() {
        let wrote = Timestamp::from_millis(10_000_000);
        let day = 24 * 3_600_000;
        let m = reply(Channel::Whatsapp);
        assert_eq!(
            guard(&m, Some(wrote), wrote.plus_millis(day), false),
            Ok(())
        );
        let late = guard(&m, Some(wrote), wrote.plus_millis(day + 1), false);
        assert!(
            matches!(late, Err(Refusal::Closed(ref why)) if why.to_string().contains("24 hours"))
        );
        // A conversation the customer never wrote in has no open window.
        assert!(matches!(
            guard(&m, None, wrote, false),
            Err(Refusal::Closed(_))
        ));
        // An approved template goes out whenever.
        assert_eq!(guard(&m, None, wrote.plus_millis(day + 1), true), Ok(()));
        // Telegram has no window.
        assert_eq!(
            guard(
                &reply(Channel::Telegram),
                Some(wrote),
                wrote.plus_millis(10 * day),
                false
            ),
            Ok(())
        );
    }
}
