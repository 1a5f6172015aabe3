//! Tickets: statuses and the transitions between them, priorities, channels,
//! message visibility and authorship.

use crate::Code;
use crate::DomainError;
use crate::Message;
use crate::message;
use std::fmt;

/// Generates a closed string enum: `as_str`, `parse` (the wire spelling) and `ALL`.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            /// The value for its wire spelling; the error lists the accepted ones.
            pub fn parse(s: &str) -> Result<Self, $crate::DomainError> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err($crate::DomainError::invalid(
                        stringify!($name),
                        $crate::Message::new($crate::Code::OneOf)
                            .with("value", format!("{other:?}"))
                            .with("values", [$($text),*].join(", ")),
                    )),
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

wire_enum!(
    /// Where a ticket is in its life. `closed` is final.
    Status {
        New = "new",
        Open = "open",
        Pending = "pending",
        OnHold = "on_hold",
        Solved = "solved",
        Closed = "closed",
    }
);

impl Status {
    /// Whether an agent (or rule) may move a ticket from `self` to `to`.
    /// Nothing returns to `new`; `closed` is final; only `solved` may be closed.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        if self == to {
            return true;
        }
        match (self, to) {
            (Closed, _) | (_, New) => false,
            (Solved, Closed) | (Solved, Open) => true,
            (Solved, _) => false,
            (_, Closed) => false,
            _ => true,
        }
    }

    /// The checked transition.
    pub fn transition(self, to: Status) -> Result<Status, DomainError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::Transition {
                from: self.as_str(),
                to: to.as_str(),
            })
        }
    }

    /// The status after a customer writes again: a solved or pending ticket re-opens,
    /// new and on-hold stay as they are. `None` for closed: the reply belongs on a
    /// follow-up ticket.
    pub fn after_customer_reply(self) -> Option<Status> {
        match self {
            Status::Solved | Status::Pending => Some(Status::Open),
            Status::Closed => None,
            other => Some(other),
        }
    }

    /// Counts as work still to do (the backlog).
    pub fn is_open_work(self) -> bool {
        matches!(
            self,
            Status::New | Status::Open | Status::Pending | Status::OnHold
        )
    }
}

wire_enum!(
    /// How urgent a ticket is.
    Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" }
);

wire_enum!(
    /// The channel a ticket or message came through or leaves by.
    Channel {
        Email = "email",
        Chat = "chat",
        Telegram = "telegram",
        Whatsapp = "whatsapp",
        Vk = "vk",
        Facebook = "facebook",
        Instagram = "instagram",
        Viber = "viber",
        Phone = "phone",
        WebForm = "web_form",
        Api = "api",
    }
);

impl Channel {
    /// How long after the customer's last message a free-form reply may still be
    /// sent. WhatsApp Business and Meta's Messenger and Instagram allow replies for
    /// 24 hours after the customer last wrote (outside it only approved templates
    /// may be sent); the other channels have no window.
    pub fn reply_window_ms(self) -> Option<i64> {
        const DAY: i64 = 24 * 3_600_000;
        match self {
            Channel::Whatsapp | Channel::Facebook | Channel::Instagram => Some(DAY),
            Channel::Email
            | Channel::Chat
            | Channel::Telegram
            | Channel::Vk
            | Channel::Viber
            | Channel::Phone
            | Channel::WebForm
            | Channel::Api => None,
        }
    }

    /// The kind of identity a sender on this channel is known by.
    pub fn identity_kind(self) -> Option<crate::identity::IdentityKind> {
        use crate::identity::IdentityKind as K;
        match self {
            Channel::Email => Some(K::Email),
            Channel::Telegram => Some(K::Telegram),
            Channel::Whatsapp => Some(K::Whatsapp),
            Channel::Vk => Some(K::Vk),
            Channel::Facebook => Some(K::Facebook),
            Channel::Instagram => Some(K::Instagram),
            Channel::Viber => Some(K::Viber),
            Channel::Phone => Some(K::Phone),
            Channel::Chat | Channel::WebForm | Channel::Api => None,
        }
    }
}

wire_enum!(
    /// Who can see a message: the customer (`public`) or only the team (`internal`).
    Visibility { Public = "public", Internal = "internal" }
);

wire_enum!(
    /// Who wrote a message.
    AuthorKind { Customer = "customer", Agent = "agent", Bot = "bot", System = "system" }
);

wire_enum!(
    /// The state of an outbound public message's delivery through its channel.
    DeliveryState { Queued = "queued", Sent = "sent", Delivered = "delivered", Read = "read", Failed = "failed" }
);

impl DeliveryState {
    /// Whether a report may move a message from `self` to `to`. Delivery only goes
    /// forward (queued → sent → delivered → read); a late or repeated report of an
    /// earlier step changes nothing. A failure may follow queued or sent (a bounce
    /// arrives after the server took the mail), and a failed message may be
    /// queued again (a retry), but nothing fails after it was delivered.
    pub fn can_become(self, to: DeliveryState) -> bool {
        use DeliveryState::*;
        match (self, to) {
            (Failed, Queued) => true,
            (Failed, _) => false,
            (Queued | Sent, Failed) => true,
            (_, Failed) => false,
            (from, to) => rank(to) > rank(from),
        }
    }
}

fn rank(s: DeliveryState) -> u8 {
    match s {
        DeliveryState::Queued => 0,
        DeliveryState::Sent => 1,
        DeliveryState::Delivered => 2,
        DeliveryState::Read => 3,
        DeliveryState::Failed => 4,
    }
}

/// A ticket's human number, unique within its workspace and shown as `#1042`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TicketNumber(i64);

impl TicketNumber {
    pub fn new(n: i64) -> Result<Self, DomainError> {
        if n >= 1 {
            Ok(TicketNumber(n))
        } else {
            Err(DomainError::invalid("number", Code::PositiveNumber))
        }
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Support tier: 1 (first line) to 3 (experts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Tier(u8);

impl Tier {
    pub const FIRST: Tier = Tier(1);
    pub fn new(n: i64) -> Result<Self, DomainError> {
        match n {
            1..=3 => Ok(Tier(n as u8)),
            _ => Err(DomainError::invalid("tier", Code::Tier)),
        }
    }
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// A tag: trimmed, lower-case, 1–64 characters, no whitespace or commas.
pub fn normalize_tag(raw: &str) -> Result<String, DomainError> {
    let t = raw.trim().to_lowercase();
    if t.is_empty() || t.chars().count() > 64 {
        return Err(DomainError::invalid("tags", Code::TagLength));
    }
    if t.chars()
        .any(|c| c.is_whitespace() || c.is_control() || crate::text::is_bidi_control(c) || c == ',')
    {
        return Err(DomainError::invalid(
            "tags",
            Message::new(Code::TagSpaces).with("t", format!("{:?}", t)),
        ));
    }
    Ok(t)
}

/// A normalised, de-duplicated, sorted tag set (at most 50 tags).
pub fn normalize_tags<'a>(
    raw: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, DomainError> {
    let mut tags = raw
        .into_iter()
        .map(normalize_tag)
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    if tags.len() > 50 {
        return Err(DomainError::invalid("tags", Code::TagsPerTicket));
    }
    Ok(tags)
}

/// A ticket subject: trimmed, 1–500 characters, no control characters.
pub fn normalize_subject(raw: &str) -> Result<String, DomainError> {
    let s = crate::text::clean_line(raw);
    if s.is_empty() {
        return Err(DomainError::invalid("subject", Code::NotEmpty));
    }
    if s.chars().count() > 500 {
        return Err(DomainError::invalid("subject", message::max_chars(500)));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn status_machine_table() {
        // (from, to, allowed)
        let table = [
            (New, Open, true),
            (New, Solved, true),
            (Open, Pending, true),
            (Pending, OnHold, true),
            (OnHold, Open, true),
            (Open, New, false),
            (Open, Closed, false),
            (Solved, Closed, true),
            (Solved, Open, true),
            (Solved, Pending, false),
            (Closed, Open, false),
            (Closed, Solved, false),
            (Closed, Closed, true),
        ];
        for (from, to, ok) in table {
            assert_eq!(from.can_become(to), ok, "{from} -> {to}");
            assert_eq!(from.transition(to).is_ok(), ok, "{from} -> {to}");
        }
    }

    #[test]
    fn customer_reply_reopens_solved_and_pending_but_not_closed() {
        assert_eq!(Solved.after_customer_reply(), Some(Open));
        assert_eq!(Pending.after_customer_reply(), Some(Open));
        assert_eq!(OnHold.after_customer_reply(), Some(OnHold));
        assert_eq!(New.after_customer_reply(), Some(New));
        assert_eq!(Closed.after_customer_reply(), None);
    }

    #[test]
    fn unknown_enum_value_is_rejected_with_the_accepted_list() {
        let e = Priority::parse("asap")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("low, normal, high, urgent"), "{e}");
        assert_eq!(Channel::parse("web_form").ok(), Some(Channel::WebForm));
    }

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        assert_eq!(
            normalize_tags(["Delivery", " late ", "delivery"]).ok(),
            Some(vec!["delivery".into(), "late".into()])
        );
        assert!(normalize_tags(["two words"]).is_err());
        assert!(normalize_tags([""]).is_err());
    }

    #[test]
    fn tier_and_number_bounds() {
        assert!(Tier::new(0).is_err());
        assert!(Tier::new(4).is_err());
        assert_eq!(Tier::new(3).map(Tier::get).ok(), Some(3));
        assert!(TicketNumber::new(0).is_err());
    }

    #[test]
    fn delivery_only_moves_forward() {
        use DeliveryState::*;
        assert!(Queued.can_become(Sent));
        assert!(Sent.can_become(Read));
        assert!(Delivered.can_become(Read));
        assert!(!Read.can_become(Delivered));
        assert!(!Sent.can_become(Sent));
        assert!(Sent.can_become(Failed));
        assert!(!Delivered.can_become(Failed));
        assert!(!Failed.can_become(Sent));
        assert!(Failed.can_become(Queued));
    }

    #[test]
    fn messaging_windows_belong_to_meta_and_whatsapp() {
        assert_eq!(Channel::Whatsapp.reply_window_ms(), Some(86_400_000));
        assert_eq!(Channel::Email.reply_window_ms(), None);
        assert_eq!(Channel::Telegram.reply_window_ms(), None);
        assert_eq!(
            Channel::Email.identity_kind(),
            Some(crate::identity::IdentityKind::Email)
        );
        assert_eq!(Channel::Api.identity_kind(), None);
    }
}
