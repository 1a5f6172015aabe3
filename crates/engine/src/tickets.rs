//! Tickets and their messages: creation with the first message and the customer
//! resolved by identity, replies and notes, changes through the status machine,
//! attachments.

use crate::customers::{CustomerInput, resolve};
use crate::{Engine, EngineError, Principal, page_limit};
use domain::Code;
use domain::event::{Actor, Change, EventData, record};
use domain::ids::*;
use domain::message;
use domain::ticket::*;
use serde_json::{Map, Value, json};
use store::constraint::Unique;
use store::tickets::{self, Attachment, Filter, Message, Ticket};
use store::{StoreError, Tx, customers, idempotency, people};

/// A ticket named by id or by its number in the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TicketRef {
    Id(TicketId),
    Number(i64),
}

impl TicketRef {
    /// A path segment: a UUID is an id, digits (optionally after `#`) a number.
    pub fn parse(s: &str) -> Option<TicketRef> {
        if let Ok(id) = s.parse::<TicketId>() {
            return Some(TicketRef::Id(id));
        }
        s.trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(TicketRef::Number)
    }
}

/// The customer of a new ticket.
#[derive(Clone, Debug)]
pub enum CustomerRef {
    Id(CustomerId),
    Input(CustomerInput),
}

/// A message body as given: text and/or HTML (sanitised before it is stored).
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentId>,
}

/// A new ticket and its first message: the customer's words (as they wrote in,
/// or as an agent logs them), or an agent's that start the conversation and are
/// delivered to the customer (`from_agent`).
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub subject: String,
    pub channel: Channel,
    pub priority: Option<Priority>,
    pub customer: CustomerRef,
    pub body: Body,
    /// The source's id of the first message; a repeat with the same id is a duplicate.
    pub external_id: Option<String>,
    pub tags: Vec<String>,
    pub category: Option<String>,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub tier: Option<i64>,
    pub custom_fields: Map<String, Value>,
    /// The first message is the acting agent's, delivered to the customer
    /// (email or the API channel only).
    pub from_agent: bool,
    /// Where the ticket goes once created ("submit as pending").
    pub status: Option<Status>,
    /// Addresses that get copies of public replies.
    pub cc: Vec<String>,
    /// The mailbox an outbound email leaves from (else the first that sends).
    pub account_id: Option<AccountId>,
}

impl NewTicket {
    /// A ticket of the API channel from the customer known by `email`, with
    /// nothing else set (what benchmarks and tests write in bulk).
    pub fn from_email(subject: &str, email: &str, text: &str) -> Result<NewTicket, EngineError> {
        let email =
            domain::identity::Identity::parse(domain::identity::IdentityKind::Email, email)?;
        Ok(NewTicket {
            subject: subject.to_owned(),
            channel: Channel::Api,
            priority: None,
            customer: CustomerRef::Input(CustomerInput {
                identities: vec![email],
                ..CustomerInput::default()
            }),
            body: Body {
                text: text.to_owned(),
                ..Default::default()
            },
            external_id: None,
            tags: Vec::new(),
            category: None,
            assignee_id: None,
            team_id: None,
            tier: None,
            custom_fields: Map::new(),
            from_agent: false,
            status: None,
            cc: Vec::new(),
            account_id: None,
        })
    }
}

/// A reply, a note, or a customer's message added to a ticket.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub body: Body,
    pub visibility: Visibility,
    /// Post on behalf of the ticket's customer (integrations relaying a channel).
    pub as_customer: bool,
    /// Also move the ticket to this status ("submit as pending").
    pub status: Option<Status>,
    pub external_id: Option<String>,
    /// History brought in from elsewhere (an import, the demo): a reply that was
    /// already delivered there, so it is stored as sent and not delivered again.
    pub imported: bool,
    /// A messenger's approved template this reply is (WhatsApp outside its
    /// window): stored beside the message, sent as the template.
    pub template: Option<Value>,
}

/// Changes to a ticket; `None` leaves a field alone, `Some(None)` clears it.
#[derive(Clone, Debug, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<UserId>>,
    pub team_id: Option<Option<TeamId>>,
    pub tier: Option<i64>,
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// Merged into the ticket's fields; a `null` value removes a field.
    pub custom_fields: Option<Map<String, Value>>,
    /// Replaces the addresses that get copies of replies.
    pub cc: Option<Vec<String>>,
    /// Snoozes the ticket until then (`Some(Some(at))`), or ends a snooze.
    pub snoozed_until: Option<Option<domain::Timestamp>>,
}

/// A [`TicketPatch`] with its values normalized and checked (what needs no
/// database).
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckedPatch {
    subject: Option<String>,
    status: Option<Status>,
    priority: Option<Priority>,
    assignee_id: Option<Option<UserId>>,
    team_id: Option<Option<TeamId>>,
    tier: Option<i64>,
    category: Option<Option<String>>,
    tags: Option<Vec<String>>,
    custom_fields: Option<Map<String, Value>>,
    cc: Option<Vec<String>>,
    snoozed_until: Option<Option<domain::Timestamp>>,
}

impl CheckedPatch {
    /// A change of status alone.
    pub(crate) fn status(s: Status) -> CheckedPatch {
        CheckedPatch {
            status: Some(s),
            ..CheckedPatch::default()
        }
    }
}

impl TicketPatch {
    pub(crate) fn checked(self) -> Result<CheckedPatch, EngineError> {
        Ok(CheckedPatch {
            subject: self.subject.as_deref().map(normalize_subject).transpose()?,
            status: self.status,
            priority: self.priority,
            assignee_id: self.assignee_id,
            team_id: self.team_id,
            tier: self.tier.map(Tier::new).transpose()?.map(Tier::get),
            category: self
                .category
                .as_ref()
                .map(|c| category(c.as_deref()))
                .transpose()?,
            tags: self
                .tags
                .as_ref()
                .map(|t| normalize_tags(t.iter().map(String::as_str)))
                .transpose()?,
            custom_fields: self.custom_fields,
            cc: self.cc.as_deref().map(normalize_cc).transpose()?,
            snoozed_until: self.snoozed_until,
        })
    }
}

/// Applies a checked patch to a ticket inside `tx`, as `actor`: one
/// `ticket.updated` event with every change, none when nothing changed.
pub(crate) async fn patch_ticket(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TicketId,
    actor: Actor,
    patch: CheckedPatch,
) -> Result<Ticket, EngineError> {
    let now = tx.now();
    let mut t = tickets::get(&mut tx.conn(), ws, id)
        .await?
        .ok_or(EngineError::NotFound)?;
    if t.status == Status::Closed {
        return Err(EngineError::Rule(Code::ClosedTicket.into()));
    }
    let mut ch = Vec::new();
    if let Some(s) = patch.subject.filter(|s| *s != t.subject) {
        record(&mut ch, "subject", &mut t.subject, s);
    }
    if let Some(pr) = patch.priority.filter(|pr| *pr != t.priority) {
        record(&mut ch, "priority", &mut t.priority, pr);
    }
    let assignee = patch.assignee_id.filter(|a| *a != t.assignee_id);
    let team = patch.team_id.filter(|a| *a != t.team_id);
    check_assignment(tx, ws, assignee.flatten(), team.flatten()).await?;
    if let Some(a) = assignee {
        record(&mut ch, "assignee_id", &mut t.assignee_id, a);
    }
    if let Some(a) = team {
        record(&mut ch, "team_id", &mut t.team_id, a);
    }
    if let Some(tier) = patch.tier.filter(|v| *v != t.tier) {
        record(&mut ch, "tier", &mut t.tier, tier);
    }
    if let Some(c) = patch.category.filter(|c| *c != t.category) {
        record(&mut ch, "category", &mut t.category, c);
    }
    if let Some(cc) = patch.cc.filter(|c| *c != t.cc) {
        record(&mut ch, "cc", &mut t.cc, cc);
    }
    let mut tags_changed = false;
    if let Some(tags) = patch.tags.filter(|g| *g != t.tags) {
        record(&mut ch, "tags", &mut t.tags, tags);
        tags_changed = true;
    }
    if let Some(cf) = &patch.custom_fields {
        let merged = validate_fields(
            tx,
            ws,
            domain::fields::FieldTarget::Ticket,
            &t.custom_fields,
            cf,
        )
        .await?;
        if merged != t.custom_fields {
            ch.push(Change {
                field: "custom_fields".into(),
                from: Value::Object(t.custom_fields.clone()),
                to: Value::Object(merged.clone()),
            });
            t.custom_fields = merged;
        }
    }
    if let Some(s) = patch.status {
        let to = t.status.transition(s)?;
        if to == Status::Solved && t.status != Status::Solved {
            require_fields_for_solve(tx, ws, &t).await?;
        }
        apply_status(&mut t, to, now, &mut ch, tx).await?;
    }
    if let Some(until) = patch.snoozed_until {
        snooze(tx, &mut t, until, now, &mut ch).await?;
    }
    if !ch.is_empty() {
        t.updated_at = now;
        tickets::update(tx, &t, tags_changed).await?;
        tx.emit(
            ws,
            actor,
            EventData::TicketUpdated {
                ticket_id: t.id,
                changes: ch,
            },
        )
        .await?;
    }
    Ok(t)
}

/// Most addresses copied on a ticket's replies.
pub const MAX_CC: usize = 20;

/// Copy addresses: valid, lower-cased, each once, at most [`MAX_CC`].
pub fn normalize_cc(raw: &[String]) -> Result<Vec<String>, EngineError> {
    let mut out: Vec<String> = Vec::new();
    for a in raw {
        let addr = domain::identity::EmailAddress::parse(a)
            .map_err(|e| EngineError::invalid("cc", e.message()))?;
        let addr = addr.as_str().to_owned();
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    if out.len() > MAX_CC {
        return Err(EngineError::invalid(
            "cc",
            domain::Message::new(Code::CcLimit).with("max_cc", MAX_CC),
        ));
    }
    Ok(out)
}

/// An `Idempotency-Key` with the hash of the request that carried it.
#[derive(Clone, Debug)]
pub struct Idem {
    pub key: String,
    pub request_hash: Vec<u8>,
}

/// What creating a ticket produced.
#[derive(Clone, Debug)]
pub struct Created {
    pub ticket: Ticket,
    pub message: Message,
    /// The first message's external id was seen before: nothing new was written.
    pub duplicate: bool,
}

/// What adding a message produced. A customer writing to a closed ticket opens a
/// follow-up ticket, returned in `ticket`.
#[derive(Clone, Debug)]
pub struct Posted {
    pub ticket: Ticket,
    pub message: Message,
    pub duplicate: bool,
}

fn category(raw: Option<&str>) -> Result<Option<String>, EngineError> {
    match raw.map(domain::text::clean_line).as_deref() {
        None | Some("") => Ok(None),
        Some(c) if c.chars().count() <= 100 => Ok(Some(c.to_owned())),
        Some(_) => Err(EngineError::invalid("category", message::max_chars(100))),
    }
}

fn external_id(raw: Option<&str>) -> Result<Option<String>, EngineError> {
    match raw {
        None => Ok(None),
        Some(s)
            if !s.is_empty() && s.chars().count() <= 998 && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s.to_owned()))
        }
        Some(_) => Err(EngineError::invalid("external_id", Code::MessageIdShape)),
    }
}

/// Plain text from sanitised HTML, for messages that arrive as HTML only.
pub(crate) fn html_to_text(html: &str) -> String {
    let stripped = ammonia::Builder::empty()
        .clean(&html.replace("<br>", "\n").replace("</p>", "\n"))
        .to_string();
    stripped
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .trim()
        .to_owned()
}

impl Engine {
    async fn check_body(&self, b: &Body) -> Result<(String, Option<String>), EngineError> {
        let max = self.limits.max_message_bytes;
        if b.text.len() > max || b.html.as_ref().is_some_and(|h| h.len() > max) {
            return Err(EngineError::TooLarge(
                domain::Message::new(Code::BodyTooLarge).with("max", max),
            ));
        }
        if b.attachments.len() > self.limits.max_attachments_per_message {
            return Err(EngineError::invalid(
                "attachments",
                domain::Message::new(Code::AttachmentsPerMessage)
                    .with("max", self.limits.max_attachments_per_message),
            ));
        }
        let html = b.html.clone().filter(|h| !h.trim().is_empty());
        if html
            .as_deref()
            .is_some_and(|h| crate::cpu::html_too_deep(h, crate::cpu::MAX_HTML_DEPTH))
        {
            return Err(EngineError::invalid(
                "html",
                domain::Message::new(Code::NestingDepth).with("depth", crate::cpu::MAX_HTML_DEPTH),
            ));
        }
        // Text that cleaning empties (only control characters) is no text: the
        // HTML's text stands in for it, as for a message that gave none.
        let text_given = Some(domain::text::clean_body(&b.text)).filter(|t| !t.trim().is_empty());
        let html_given = html.is_some();
        let (html, text) = match html {
            None => (None, text_given.unwrap_or_default()),
            // Sanitising is CPU work on client input: it takes a turn off the runtime.
            Some(h) => {
                self.cpu
                    .run(move || {
                        let html = ammonia::clean(&h);
                        let text = text_given.unwrap_or_else(|| html_to_text(&html));
                        (Some(html), text)
                    })
                    .await?
            }
        };
        // HTML with no visible text (`<br>`, an inline image) is still what the
        // client sent; only a message of nothing at all is refused.
        if text.trim().is_empty() && b.attachments.is_empty() && !html_given {
            return Err(EngineError::invalid("body", Code::MessageEmpty));
        }
        Ok((text, html))
    }

    pub(crate) async fn load_ticket(
        &self,
        p: &Principal,
        r: TicketRef,
    ) -> Result<Ticket, EngineError> {
        let mut c = self.store.read().await?;
        let t = match r {
            TicketRef::Id(id) => tickets::get(&mut c.conn(), p.workspace_id, id).await?,
            TicketRef::Number(n) => {
                tickets::get_by_number(&mut c.conn(), p.workspace_id, n).await?
            }
        };
        t.ok_or(EngineError::NotFound)
    }

    pub async fn ticket(&self, p: &Principal, r: TicketRef) -> Result<Ticket, EngineError> {
        self.load_ticket(p, r).await
    }

    pub async fn tickets(
        &self,
        p: &Principal,
        f: &Filter,
        before: Option<TicketId>,
        limit: Option<i64>,
    ) -> Result<Vec<Ticket>, EngineError> {
        if f.text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(EngineError::invalid("q", message::max_chars(200)));
        }
        // A NUL or other control character in a search would cut or skew it.
        let cleaned;
        let f = match &f.text {
            Some(t) if t.chars().any(char::is_control) => {
                cleaned = Filter {
                    text: Some(domain::text::clean_line(t)).filter(|t| !t.is_empty()),
                    ..f.clone()
                };
                &cleaned
            }
            _ => f,
        };
        let searched = self.resolve_text(p.workspace_id, f).await?;
        let f = searched.as_ref().unwrap_or(f);
        let mut c = self.store.read().await?;
        Ok(tickets::list(&mut c.conn(), p.workspace_id, f, before, page_limit(limit)).await?)
    }

    /// A page of tickets in the filter's sort order, for the agent workspace, with
    /// how many match in all.
    pub async fn ticket_page(
        &self,
        p: &Principal,
        f: &Filter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Ticket>, i64), EngineError> {
        if f.text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(EngineError::invalid("q", message::max_chars(200)));
        }
        let offset = offset.clamp(0, 100_000);
        let searched = self.resolve_text(p.workspace_id, f).await?;
        let f = searched.as_ref().unwrap_or(f);
        let mut c = self.store.read().await?;
        let items = tickets::list_page(
            &mut c.conn(),
            p.workspace_id,
            f,
            None,
            offset,
            page_limit(Some(limit)),
        )
        .await?;
        let total = tickets::count_matching(&mut c.conn(), p.workspace_id, f).await?;
        Ok((items, total))
    }

    /// The sizes of the standard inbox views for this agent; "recently solved"
    /// means within the last seven days.
    pub async fn view_counts(&self, p: &Principal) -> Result<tickets::ViewCounts, EngineError> {
        let since = self.recently_solved_since();
        let mut c = self.store.read().await?;
        Ok(
            tickets::view_counts(&mut c.conn(), p.workspace_id, p.user_id, since, self.now())
                .await?,
        )
    }

    /// Where the "recently solved" view begins.
    pub fn recently_solved_since(&self) -> domain::Timestamp {
        domain::Timestamp::from_millis(self.store.now().millis() - 7 * 24 * 3600 * 1000)
    }

    /// Customer names by id, for lists.
    pub async fn customer_names(
        &self,
        p: &Principal,
        ids: &[CustomerId],
    ) -> Result<std::collections::HashMap<CustomerId, String>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::customers::names(&mut c.conn(), p.workspace_id, ids)
            .await?
            .into_iter()
            .collect())
    }

    pub async fn messages(
        &self,
        p: &Principal,
        r: TicketRef,
        after: Option<MessageId>,
        limit: Option<i64>,
    ) -> Result<Vec<Message>, EngineError> {
        let t = self.load_ticket(p, r).await?;
        let mut c = self.store.read().await?;
        Ok(tickets::messages(
            &mut c.conn(),
            p.workspace_id,
            t.id,
            after,
            page_limit(limit),
        )
        .await?)
    }

    pub async fn ticket_events(
        &self,
        p: &Principal,
        r: TicketRef,
        after: i64,
        limit: Option<i64>,
    ) -> Result<Vec<store::events::EventRecord>, EngineError> {
        let t = self.load_ticket(p, r).await?;
        let mut c = self.store.read().await?;
        Ok(store::events::of_ticket(
            &mut c.conn(),
            p.workspace_id,
            t.id,
            after,
            page_limit(limit),
        )
        .await?)
    }

    /// A ticket's newest events, newest first (at most 500).
    pub async fn ticket_history(
        &self,
        p: &Principal,
        id: TicketId,
        limit: i64,
    ) -> Result<Vec<store::events::EventRecord>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(
            store::events::latest_of_ticket(&mut c.conn(), p.workspace_id, id, limit.clamp(1, 500))
                .await?,
        )
    }

    /// The saved result of an earlier request with this key: `Ok(Some(id))` to replay,
    /// `Err` when the key was used for a different request.
    pub async fn idempotent_replay(
        &self,
        p: &Principal,
        idem: &Idem,
    ) -> Result<Option<String>, EngineError> {
        let mut c = self.store.read().await?;
        match idempotency::get(&mut c.conn(), p.workspace_id, &idem.key).await? {
            None => Ok(None),
            Some(s) if s.request_hash == idem.request_hash => Ok(Some(s.body)),
            Some(_) => Err(EngineError::Rule(Code::IdempotencyReused.into())),
        }
    }

    /// On PostgreSQL, the next ticket number, reserved in a short transaction
    /// of its own (see `create_ticket`); on SQLite `None`: the number is taken
    /// inside the creating transaction.
    async fn reserve_number(&self, ws: WorkspaceId) -> Result<Option<i64>, EngineError> {
        Ok(match self.store.dialect() {
            store::Dialect::Postgres => Some(
                self.store
                    .write(move |tx| {
                        Box::pin(async move {
                            tx.conn()
                                .execute(&store::query("SET LOCAL synchronous_commit = off"))
                                .await?;
                            store::workspaces::next_ticket_number(tx, ws).await
                        })
                    })
                    .await?,
            ),
            store::Dialect::Sqlite => None,
        })
    }

    /// Creates a ticket with its first message; the customer is found by identity or
    /// created. Idempotent on the message's external id and on `idem`.
    pub async fn create_ticket(
        &self,
        p: &Principal,
        n: NewTicket,
        idem: Option<Idem>,
    ) -> Result<Created, EngineError> {
        p.require_ticket_work()?;
        let subject = normalize_subject(&n.subject)?;
        let (text, html) = self.check_body(&n.body).await?;
        let tags = normalize_tags(n.tags.iter().map(String::as_str))?;
        let tier = Tier::new(n.tier.unwrap_or(1))?.get();
        let cat = category(n.category.as_deref())?;
        let ext = external_id(n.external_id.as_deref())?;
        let cc = normalize_cc(&n.cc)?;
        if n.from_agent && !matches!(n.channel, Channel::Email | Channel::Api) {
            return Err(EngineError::Rule(Code::OutboundChannel.into()));
        }
        let (ws, actor_user, agent) = (p.workspace_id, p.actor(), p.user_id);
        // PostgreSQL runs concurrent creations in parallel: two may race to create the
        // same new customer, and the loser retries once it can see the winner's row.
        // On PostgreSQL the number is reserved in a short transaction of its own that
        // does not wait for its WAL flush: holding the workspace's counter row until
        // the creation commits (or until an fsync) queued every concurrent creation
        // behind it (150 tickets/s at concurrency 32). It is still safe: WAL is
        // written in order, so a creation that commits durably has flushed the
        // counter too, and a counter lost in a crash was used by no durable ticket.
        // A creation that fails after reserving leaves a gap in the numbering. On
        // SQLite writes are serial anyway: the number is taken inside the creation and
        // never skips.
        let reserved = self.reserve_number(ws).await?;
        for attempt in 0..3 {
            let n = n.clone();
            let (subject, text, html, tags, cat, ext, idem, cc) = (
                subject.clone(),
                text.clone(),
                html.clone(),
                tags.clone(),
                cat.clone(),
                ext.clone(),
                idem.clone(),
                cc.clone(),
            );
            let r = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        if let Some(ext) = &ext
                            && let Some(m) = tickets::message_by_external(
                                &mut tx.conn(),
                                ws,
                                n.channel,
                                None,
                                ext,
                            )
                            .await?
                        {
                            let t = tickets::get(&mut tx.conn(), ws, m.ticket_id)
                                .await?
                                .ok_or(EngineError::NotFound)?;
                            return Ok(Created {
                                ticket: t,
                                message: m,
                                duplicate: true,
                            });
                        }
                        let now = tx.now();
                        let customer_id = match &n.customer {
                            CustomerRef::Id(id) => {
                                let c = customers::get(&mut tx.conn(), ws, *id).await?.ok_or_else(
                                    || {
                                        EngineError::Unknown(
                                            "customer_id".into(),
                                            message::no_such("customer"),
                                        )
                                    },
                                )?;
                                c.merged_into.unwrap_or(c.id)
                            }
                            CustomerRef::Input(input) => {
                                resolve(tx, ws, actor_user, input).await?.0
                            }
                        };
                        check_assignment(tx, ws, n.assignee_id, n.team_id).await?;
                        if let Some(a) = n.account_id {
                            let known = store::channels::get(&mut tx.conn(), ws, a).await?;
                            if known.is_none_or(|k| k.kind != n.channel) {
                                return Err(EngineError::Rule(
                                    domain::Message::new(Code::AccountOfChannel).label(
                                        "channel",
                                        "channel",
                                        n.channel.as_str(),
                                    ),
                                ));
                            }
                        }
                        if n.from_agent {
                            check_outbound(tx, ws, &n, customer_id).await?;
                        }
                        let fields = validate_fields(
                            tx,
                            ws,
                            domain::fields::FieldTarget::Ticket,
                            &Map::new(),
                            &n.custom_fields,
                        )
                        .await?;
                        let number = match reserved {
                            Some(n) => n,
                            None => store::workspaces::next_ticket_number(tx, ws).await?,
                        };
                        let t = Ticket {
                            priority: n.priority.unwrap_or(Priority::Normal),
                            assignee_id: n.assignee_id,
                            team_id: n.team_id,
                            tier,
                            category: cat,
                            tags,
                            custom_fields: fields,
                            cc,
                            ..new_ticket(
                                ws,
                                number,
                                subject,
                                n.channel,
                                customer_id,
                                n.account_id,
                                now,
                            )
                        };
                        tickets::insert(tx, &t).await?;
                        emit_created(tx, &t, actor_user).await?;
                        let (author, actor) = if n.from_agent {
                            (AuthorKind::Agent, Actor::User(agent))
                        } else {
                            (AuthorKind::Customer, Actor::Customer(customer_id))
                        };
                        let m = Message {
                            id: MessageId::new(),
                            workspace_id: ws,
                            ticket_id: t.id,
                            visibility: Visibility::Public,
                            author_kind: author,
                            author_user_id: n.from_agent.then_some(agent),
                            author_customer_id: (!n.from_agent).then_some(customer_id),
                            channel: t.channel,
                            body_text: text,
                            body_html: html,
                            external_id: ext,
                            delivery_state: n.from_agent.then_some(DeliveryState::Queued),
                            delivery_error: None,
                            account_id: n.from_agent.then_some(n.account_id).flatten(),
                            created_at: now,
                            attachments: Vec::new(),
                        };
                        let m = insert_message(tx, m, &n.body.attachments, actor).await?;
                        if n.from_agent {
                            crate::jobs::Job::DeliverMessage {
                                workspace_id: ws,
                                message_id: m.id,
                            }
                            .enqueue(tx, now)
                            .await?;
                        } else {
                            crate::orders::link_named_order(
                                tx,
                                ws,
                                t.id,
                                customer_id,
                                &m.body_text,
                            )
                            .await?;
                        }
                        // An agent's first words open the conversation as a reply
                        // does; "submit as" moves it on from there.
                        let mut t = t;
                        let to = match (n.status, n.from_agent) {
                            (Some(s), _) => Some(Status::New.transition(s)?),
                            (None, true) => Some(Status::Open),
                            (None, false) => None,
                        };
                        if let Some(to) = to.filter(|to| *to != Status::New) {
                            if to == Status::Solved {
                                require_fields_for_solve(tx, ws, &t).await?;
                            }
                            let mut changes = Vec::new();
                            apply_status(&mut t, to, now, &mut changes, tx).await?;
                            tickets::update(tx, &t, false).await?;
                            tx.emit(
                                ws,
                                actor_user,
                                EventData::TicketUpdated {
                                    ticket_id: t.id,
                                    changes,
                                },
                            )
                            .await?;
                        }
                        if let Some(idem) = idem {
                            let saved = idempotency::Saved {
                                request_hash: idem.request_hash,
                                status: 201,
                                body: t.id.to_string(),
                            };
                            idempotency::put(tx, ws, &idem.key, &saved).await?;
                        }
                        Ok(Created {
                            ticket: t,
                            message: m,
                            duplicate: false,
                        })
                    })
                })
                .await;
            match r {
                Err(EngineError::Duplicate(Unique::CustomerIdentity)) if attempt < 2 => continue,
                Err(EngineError::Duplicate(Unique::MessageExternalId)) => {
                    // A concurrent request stored the same external id first.
                    continue;
                }
                other => return other,
            }
        }
        Err(EngineError::Conflict(Code::RequestCollided.into()))
    }

    /// Adds a reply, an internal note, or a customer's message to a ticket.
    pub async fn add_message(
        &self,
        p: &Principal,
        r: TicketRef,
        n: NewMessage,
        idem: Option<Idem>,
    ) -> Result<Posted, EngineError> {
        if n.visibility == Visibility::Public || n.as_customer || n.status.is_some() {
            p.require_ticket_work()?;
        }
        if n.as_customer && n.visibility == Visibility::Internal {
            return Err(EngineError::invalid(
                "visibility",
                Code::CustomerMessagePublic,
            ));
        }
        let (text, html) = self.check_body(&n.body).await?;
        let ext = external_id(n.external_id.as_deref())?;
        let ticket = self.load_ticket(p, r).await?;
        let (ws, user) = (p.workspace_id, p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    // Re-read inside the transaction: the ticket may have changed since.
                    let mut t = tickets::get(&mut tx.conn(), ws, ticket.id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let outbound = !n.as_customer && n.visibility == Visibility::Public;
                    // A reply leaves by the account the ticket came in through.
                    let account = if outbound { t.account_id } else { None };
                    if let Some(ext) = &ext
                        && let Some(m) = tickets::message_by_external(
                            &mut tx.conn(),
                            ws,
                            t.channel,
                            account,
                            ext,
                        )
                        .await?
                    {
                        let t = tickets::get(&mut tx.conn(), ws, m.ticket_id)
                            .await?
                            .ok_or(EngineError::NotFound)?;
                        return Ok(Posted {
                            ticket: t,
                            message: m,
                            duplicate: true,
                        });
                    }
                    let (author_kind, actor) = if n.as_customer {
                        (AuthorKind::Customer, Actor::Customer(t.customer_id))
                    } else {
                        (AuthorKind::Agent, Actor::User(user))
                    };
                    if n.as_customer && t.merged_into.is_some() {
                        t = merged_target(tx, t).await?;
                    }
                    if n.as_customer && t.status == Status::Closed {
                        t = open_follow_up(tx, &t, actor, now).await?;
                    } else if t.status == Status::Closed {
                        return Err(EngineError::Rule(Code::ClosedTicketFollowUp.into()));
                    } else {
                        let mut to = if n.as_customer {
                            t.status.after_customer_reply().unwrap_or(t.status)
                        } else if n.visibility == Visibility::Public && t.status == Status::New {
                            Status::Open
                        } else {
                            t.status
                        };
                        if let Some(s) = n.status {
                            to = t.status.transition(s)?;
                            // An agent's "reply and solve" is a solve like any
                            // other: required fields first.
                            if to == Status::Solved && t.status != Status::Solved {
                                require_fields_for_solve(tx, ws, &t).await?;
                            }
                        }
                        let mut changes = Vec::new();
                        apply_status(&mut t, to, now, &mut changes, tx).await?;
                        t.updated_at = now;
                        tickets::update(tx, &t, false).await?;
                        if !changes.is_empty() {
                            tx.emit(
                                ws,
                                actor,
                                EventData::TicketUpdated {
                                    ticket_id: t.id,
                                    changes,
                                },
                            )
                            .await?;
                        }
                    }
                    let deliver = outbound && !n.imported;
                    let m = Message {
                        id: MessageId::new(),
                        workspace_id: ws,
                        ticket_id: t.id,
                        visibility: n.visibility,
                        author_kind,
                        author_user_id: (!n.as_customer).then_some(user),
                        author_customer_id: n.as_customer.then_some(t.customer_id),
                        channel: t.channel,
                        body_text: text,
                        body_html: html,
                        external_id: ext,
                        delivery_state: match (outbound, n.imported) {
                            (false, _) => None,
                            (true, false) => Some(DeliveryState::Queued),
                            (true, true) => Some(DeliveryState::Sent),
                        },
                        delivery_error: None,
                        account_id: account,
                        created_at: now,
                        attachments: Vec::new(),
                    };
                    let m = insert_message(tx, m, &n.body.attachments, actor).await?;
                    if m.visibility == Visibility::Internal && !n.as_customer {
                        tell_mentioned(tx, &m, user, actor).await?;
                    }
                    if let Some(template) = &n.template {
                        tickets::insert_message_template(tx, ws, m.id, template).await?;
                    }
                    if deliver {
                        crate::jobs::Job::DeliverMessage {
                            workspace_id: ws,
                            message_id: m.id,
                        }
                        .enqueue(tx, now)
                        .await?;
                    }
                    if let Some(idem) = idem {
                        let saved = idempotency::Saved {
                            request_hash: idem.request_hash,
                            status: 201,
                            body: m.id.to_string(),
                        };
                        idempotency::put(tx, ws, &idem.key, &saved).await?;
                    }
                    Ok::<_, EngineError>(Posted {
                        ticket: t,
                        message: m,
                        duplicate: false,
                    })
                })
            })
            .await
    }

    /// One message of the workspace (for idempotent replays).
    pub async fn message(&self, p: &Principal, id: MessageId) -> Result<Message, EngineError> {
        let mut c = self.store.read().await?;
        tickets::message(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Of `ids`, the tickets whose customer wrote last (no public answer
    /// since), with when: the inbox's "customer replied" marker.
    pub async fn waiting_since(
        &self,
        p: &Principal,
        ids: &[TicketId],
    ) -> Result<std::collections::HashMap<TicketId, domain::Timestamp>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(tickets::waiting_since(&mut c.conn(), p.workspace_id, ids)
            .await?
            .into_iter()
            .collect())
    }

    /// Sends again a reply whose delivery failed (the channel refused it, the
    /// retries ran out): it is queued as new, and its state moves from
    /// `failed` to `queued` with its event. Any other message is a conflict.
    pub async fn resend_message(
        &self,
        p: &Principal,
        r: TicketRef,
        id: MessageId,
    ) -> Result<Message, EngineError> {
        p.require_ticket_work()?;
        let ticket = self.load_ticket(p, r).await?;
        let m = self.message(p, id).await?;
        if m.ticket_id != ticket.id {
            return Err(EngineError::NotFound);
        }
        if m.delivery_state != Some(domain::ticket::DeliveryState::Failed) {
            return Err(EngineError::Conflict(Code::ResendOnlyFailed.into()));
        }
        let ws = p.workspace_id;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // Re-read inside the write: two agents pressing at once
                    // queue it once.
                    let m = tickets::message(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    if m.delivery_state != Some(domain::ticket::DeliveryState::Failed)
                        || !crate::outbound::advance_delivery(
                            tx,
                            &m,
                            domain::ticket::DeliveryState::Queued,
                            None,
                        )
                        .await?
                    {
                        return Err(EngineError::Conflict(Code::ResendOnlyFailed.into()));
                    }
                    let now = tx.now();
                    crate::jobs::Job::DeliverMessage {
                        workspace_id: ws,
                        message_id: id,
                    }
                    .enqueue(tx, now)
                    .await?;
                    tickets::message(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)
                })
            })
            .await
    }

    /// Changes a ticket's properties; the status moves only along allowed transitions.
    pub async fn update_ticket(
        &self,
        p: &Principal,
        r: TicketRef,
        patch: TicketPatch,
    ) -> Result<Ticket, EngineError> {
        p.require_ticket_work()?;
        let patch = patch.checked()?;
        let ticket = self.load_ticket(p, r).await?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| Box::pin(patch_ticket(tx, ws, ticket.id, actor, patch)))
            .await
    }

    /// Stores an uploaded file; it is attached when a message names it.
    pub async fn upload_attachment(
        &self,
        p: &Principal,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<Attachment, EngineError> {
        if bytes.len() > self.limits.max_attachment_bytes {
            return Err(EngineError::TooLarge(
                domain::Message::new(Code::AttachmentTooLarge)
                    .with("bytes", self.limits.max_attachment_bytes),
            ));
        }
        let filename = sanitize_filename(filename);
        let content_type = if content_type.len() <= 255
            && content_type.contains('/')
            && !content_type.chars().any(char::is_control)
        {
            content_type.to_owned()
        } else {
            "application/octet-stream".to_owned()
        };
        let size = bytes.len() as i64;
        let sha256 = self
            .store
            .blobs()
            .put(bytes.into())
            .await
            .map_err(StoreError::from)?;
        let a = Attachment {
            id: AttachmentId::new(),
            workspace_id: p.workspace_id,
            message_id: None,
            sha256,
            filename,
            content_type,
            size,
            uploaded_by: Some(p.user_id),
            created_at: self.store.now(),
        };
        let a2 = a.clone();
        self.store
            .write(move |tx| Box::pin(async move { tickets::insert_attachment(tx, &a2).await }))
            .await?;
        Ok(a)
    }

    /// An attachment's metadata and bytes.
    pub async fn attachment(
        &self,
        p: &Principal,
        id: AttachmentId,
    ) -> Result<(Attachment, Vec<u8>), EngineError> {
        let a = {
            let mut c = self.store.read().await?;
            tickets::attachment(&mut c.conn(), p.workspace_id, id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        let bytes = self
            .store
            .blobs()
            .get(&a.sha256)
            .await
            .map_err(StoreError::from)?;
        Ok((a, bytes))
    }
}

/// A file name safe to store and to offer back in Content-Disposition.
pub(crate) fn sanitize_filename(raw: &str) -> String {
    const MAX: usize = 255;
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !domain::text::is_bidi_control(*c) && !matches!(c, '"' | ';')
        })
        .collect();
    let clean = clean.trim().trim_start_matches('.').to_owned();
    if clean.is_empty() {
        return "attachment".into();
    }
    if clean.chars().count() <= MAX {
        return clean;
    }
    // Too long: shorten the stem, keep the extension (what the file is).
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= 16 => (s, format!(".{e}")),
        _ => (clean.as_str(), String::new()),
    };
    let keep = MAX - ext.chars().count();
    format!("{}{ext}", stem.chars().take(keep).collect::<String>())
}

/// A new ticket with the defaults every source starts from: status new, normal
/// priority, first tier, unassigned.
/// An agent's first message must have somewhere to go: an email ticket needs
/// the customer's address and a mailbox of this workspace that sends.
async fn check_outbound(
    tx: &mut store::Tx,
    ws: WorkspaceId,
    n: &NewTicket,
    customer: CustomerId,
) -> Result<(), EngineError> {
    if n.channel != Channel::Email {
        return Ok(());
    }
    let c = customers::get(&mut tx.conn(), ws, customer).await?;
    if !c.is_some_and(|c| {
        c.identities
            .iter()
            .any(|i| i.kind == domain::identity::IdentityKind::Email)
    }) {
        return Err(EngineError::Rule(Code::OutboundNoEmail.into()));
    }
    let boxes = store::channels::list(&mut tx.conn(), ws, Channel::Email).await?;
    let sends = match n.account_id {
        Some(id) => boxes
            .iter()
            .any(|b| b.id == id && b.active && b.outbound.is_some()),
        None => boxes.iter().any(|b| b.active && b.outbound.is_some()),
    };
    if !sends {
        return Err(EngineError::Rule(Code::OutboundNoMailbox.into()));
    }
    Ok(())
}

pub(crate) fn new_ticket(
    ws: WorkspaceId,
    number: i64,
    subject: String,
    channel: Channel,
    customer_id: CustomerId,
    account_id: Option<AccountId>,
    now: domain::Timestamp,
) -> Ticket {
    Ticket {
        id: TicketId::new(),
        workspace_id: ws,
        number,
        subject,
        status: Status::New,
        priority: Priority::Normal,
        channel,
        customer_id,
        assignee_id: None,
        team_id: None,
        tier: 1,
        category: None,
        tags: Vec::new(),
        custom_fields: Default::default(),
        follow_up_of: None,
        account_id,
        cc: Vec::new(),
        created_at: now,
        updated_at: now,
        solved_at: None,
        closed_at: None,
        snoozed_until: None,
        merged_into: None,
    }
}

/// A closed ticket is final: the customer's new message starts a follow-up ticket
/// that copies its properties and points back to it.
pub(crate) async fn open_follow_up(
    tx: &mut Tx,
    t: &Ticket,
    actor: Actor,
    now: domain::Timestamp,
) -> Result<Ticket, EngineError> {
    let number = store::workspaces::next_ticket_number(tx, t.workspace_id).await?;
    let follow = Ticket {
        id: TicketId::new(),
        number,
        status: Status::Open,
        follow_up_of: Some(t.id),
        created_at: now,
        updated_at: now,
        solved_at: None,
        closed_at: None,
        snoozed_until: None,
        merged_into: None,
        ..t.clone()
    };
    tickets::insert(tx, &follow).await?;
    emit_created(tx, &follow, actor).await?;
    Ok(follow)
}

/// The customer wrote on `t`: a solved or pending ticket opens again, a closed one
/// gets a follow-up. Returns the ticket the message belongs on.
pub(crate) async fn customer_wrote(
    tx: &mut Tx,
    t: Ticket,
    actor: Actor,
    now: domain::Timestamp,
) -> Result<Ticket, EngineError> {
    let mut t = merged_target(tx, t).await?;
    if t.status == Status::Closed {
        return open_follow_up(tx, &t, actor, now).await;
    }
    let to = t.status.after_customer_reply().unwrap_or(t.status);
    let mut changes = Vec::new();
    apply_status(&mut t, to, now, &mut changes, tx).await?;
    t.updated_at = now;
    tickets::update(tx, &t, false).await?;
    if !changes.is_empty() {
        tx.emit(
            t.workspace_id,
            actor,
            EventData::TicketUpdated {
                ticket_id: t.id,
                changes,
            },
        )
        .await?;
    }
    Ok(t)
}

pub(crate) async fn emit_created(tx: &mut Tx, t: &Ticket, actor: Actor) -> Result<(), EngineError> {
    tx.emit(
        t.workspace_id,
        actor,
        EventData::TicketCreated {
            ticket_id: t.id,
            number: t.number,
            subject: t.subject.clone(),
            status: t.status,
            priority: t.priority,
            channel: t.channel,
            customer_id: t.customer_id,
            follow_up_of: t.follow_up_of,
        },
    )
    .await?;
    Ok(())
}

pub(crate) async fn insert_message(
    tx: &mut Tx,
    mut m: Message,
    attachments: &[AttachmentId],
    actor: Actor,
) -> Result<Message, EngineError> {
    tickets::insert_message(tx, &m).await?;
    tickets::link_attachments(tx, m.workspace_id, m.id, attachments)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                EngineError::Unknown("attachments".into(), Code::NoPendingAttachment.into())
            }
            e => e.into(),
        })?;
    if !attachments.is_empty() {
        m = tickets::message(&mut tx.conn(), m.workspace_id, m.id)
            .await?
            .ok_or(EngineError::NotFound)?;
    }
    tx.emit(
        m.workspace_id,
        actor,
        EventData::MessageAdded {
            ticket_id: m.ticket_id,
            message_id: m.id,
            visibility: m.visibility,
            author_kind: m.author_kind,
            channel: m.channel,
            attachments: attachments.len(),
        },
    )
    .await?;
    if m.author_kind != AuthorKind::Customer {
        tickets::touch(tx, m.workspace_id, m.ticket_id).await?;
    }
    Ok(m)
}

pub(crate) async fn apply_status(
    t: &mut Ticket,
    to: Status,
    now: domain::Timestamp,
    ch: &mut Vec<Change>,
    _tx: &mut Tx,
) -> Result<(), EngineError> {
    if to == t.status {
        return Ok(());
    }
    ch.push(Change {
        field: "status".into(),
        from: json!(t.status),
        to: json!(to),
    });
    match to {
        Status::Solved => t.solved_at = Some(now),
        Status::Closed => t.closed_at = Some(now),
        _ => {}
    }
    t.status = to;
    // Any other status than waiting ends a snooze (a reply, a solve, an
    // agent opening it).
    if !matches!(to, Status::Pending | Status::OnHold) && t.snoozed_until.is_some() {
        record(ch, "snoozed_until", &mut t.snoozed_until, None);
    }
    Ok(())
}

impl Engine {
    /// A snoozed ticket's moment came: it opens again, as the system, unless
    /// its snooze ended or moved since the job was queued.
    pub(crate) async fn wake_ticket(
        &self,
        ws: WorkspaceId,
        ticket: TicketId,
        at: i64,
    ) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(t) = tickets::get(&mut tx.conn(), ws, ticket).await? else {
                        return Ok(());
                    };
                    if t.snoozed_until.map(domain::Timestamp::millis) != Some(at) {
                        return Ok(());
                    }
                    let open = CheckedPatch {
                        status: Some(Status::Open),
                        ..CheckedPatch::default()
                    };
                    patch_ticket(tx, ws, ticket, Actor::System, open)
                        .await
                        .map(|_| ())
                })
            })
            .await
    }
}

/// Tells the active colleagues a note names by `@handle` (the local part of
/// their e-mail address, or all of it), the author aside: one
/// `message.mentioned` event, which their pages turn into an alert.
async fn tell_mentioned(
    tx: &mut Tx,
    m: &Message,
    author: UserId,
    actor: Actor,
) -> Result<(), EngineError> {
    let handles = domain::text::mentions(&m.body_text);
    if handles.is_empty() {
        return Ok(());
    }
    let users = people::list_users(&mut tx.conn(), m.workspace_id, None, 10_000).await?;
    let user_ids: Vec<UserId> = users
        .iter()
        .filter(|u| u.active && u.id != author)
        .filter(|u| {
            let email = u.email.as_str().to_lowercase();
            let local = email.split('@').next().unwrap_or_default().to_owned();
            handles.iter().any(|h| *h == email || *h == local)
        })
        .map(|u| u.id)
        .collect();
    if !user_ids.is_empty() {
        tx.emit(
            m.workspace_id,
            actor,
            EventData::Mentioned {
                ticket_id: m.ticket_id,
                message_id: m.id,
                user_ids,
            },
        )
        .await?;
    }
    Ok(())
}

/// The ticket a merged ticket's messages went to (following at most a few
/// merges), or `t` itself: a customer writing on a merged thread lands there.
async fn merged_target(tx: &mut Tx, mut t: Ticket) -> Result<Ticket, EngineError> {
    for _ in 0..5 {
        let Some(into) = t.merged_into else { break };
        match tickets::get(&mut tx.conn(), t.workspace_id, into).await? {
            Some(next) => t = next,
            None => break,
        }
    }
    Ok(t)
}

impl Engine {
    /// Merges `source` into `into`: the source's messages (with their channel
    /// records, so the customer's next message on that thread lands on the
    /// target), experts, tags and copies move to the target; the source is
    /// closed and points at it. Neither may be closed, nor the same ticket.
    pub async fn merge_ticket(
        &self,
        p: &Principal,
        source: TicketRef,
        into: TicketRef,
    ) -> Result<Ticket, EngineError> {
        p.require_ticket_work()?;
        let s = self.load_ticket(p, source).await?;
        let target = self.load_ticket(p, into).await?;
        if s.id == target.id {
            return Err(EngineError::Rule(Code::MergeSame.into()));
        }
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let mut s = tickets::get(&mut tx.conn(), ws, s.id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let mut t = tickets::get(&mut tx.conn(), ws, target.id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    for x in [&s, &t] {
                        if x.status == Status::Closed {
                            return Err(EngineError::Rule(
                                domain::Message::new(Code::MergeClosed).with("number", x.number),
                            ));
                        }
                    }
                    let moved = tickets::move_messages(tx, ws, s.id, t.id).await?;
                    // The target gains the source's tags and copies.
                    let mut tc = Vec::new();
                    let tags =
                        normalize_tags(t.tags.iter().chain(s.tags.iter()).map(String::as_str))
                            .unwrap_or_else(|_| t.tags.clone());
                    let tags_changed = tags != t.tags;
                    if tags_changed {
                        record(&mut tc, "tags", &mut t.tags, tags);
                    }
                    let mut cc = t.cc.clone();
                    for a in &s.cc {
                        if !cc.contains(a) && cc.len() < MAX_CC {
                            cc.push(a.clone());
                        }
                    }
                    if cc != t.cc {
                        record(&mut tc, "cc", &mut t.cc, cc);
                    }
                    t.updated_at = now;
                    tickets::update(tx, &t, tags_changed).await?;
                    if !tc.is_empty() {
                        tx.emit(
                            ws,
                            actor,
                            EventData::TicketUpdated {
                                ticket_id: t.id,
                                changes: tc,
                            },
                        )
                        .await?;
                    }
                    // The source is closed, pointing at the target.
                    let mut sc = Vec::new();
                    apply_status(&mut s, Status::Closed, now, &mut sc, tx).await?;
                    record(&mut sc, "merged_into", &mut s.merged_into, Some(t.id));
                    s.updated_at = now;
                    tickets::update(tx, &s, false).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::TicketUpdated {
                            ticket_id: s.id,
                            changes: sc,
                        },
                    )
                    .await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::TicketMerged {
                            ticket_id: t.id,
                            source_id: s.id,
                            source_number: s.number,
                            messages: moved,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(t)
                })
            })
            .await
    }
}

impl Engine {
    /// Moves a customer's later message out of a ticket into a new ticket of
    /// the same customer, channel, team, priority and tags (a second question
    /// asked on an old thread); the message's thread follows it.
    pub async fn split_ticket(
        &self,
        p: &Principal,
        source: TicketRef,
        message: MessageId,
    ) -> Result<Ticket, EngineError> {
        p.require_ticket_work()?;
        let s = self.load_ticket(p, source).await?;
        let (ws, actor) = (p.workspace_id, p.actor());
        let reserved = self.reserve_number(ws).await?;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    let mut s = tickets::get(&mut tx.conn(), ws, s.id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let m = tickets::message(&mut tx.conn(), ws, message)
                        .await?
                        .filter(|m| m.ticket_id == s.id)
                        .ok_or_else(|| {
                            EngineError::Unknown("message_id".into(), message::no_such("message"))
                        })?;
                    if s.status == Status::Closed || s.merged_into.is_some() {
                        return Err(EngineError::Rule(Code::SplitClosed.into()));
                    }
                    if m.author_kind != AuthorKind::Customer {
                        return Err(EngineError::Rule(Code::SplitCustomer.into()));
                    }
                    if tickets::messages_before(&mut tx.conn(), ws, s.id, m.id).await? == 0 {
                        return Err(EngineError::Rule(Code::SplitFirst.into()));
                    }
                    let number = match reserved {
                        Some(n) => n,
                        None => store::workspaces::next_ticket_number(tx, ws).await?,
                    };
                    let n = Ticket {
                        priority: s.priority,
                        team_id: s.team_id,
                        tier: s.tier,
                        category: s.category.clone(),
                        tags: s.tags.clone(),
                        cc: s.cc.clone(),
                        ..new_ticket(
                            ws,
                            number,
                            s.subject.clone(),
                            s.channel,
                            s.customer_id,
                            s.account_id,
                            now,
                        )
                    };
                    tickets::insert(tx, &n).await?;
                    emit_created(tx, &n, actor).await?;
                    tickets::move_message(tx, ws, m.id, n.id).await?;
                    s.updated_at = now;
                    tickets::update(tx, &s, false).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::TicketSplit {
                            ticket_id: s.id,
                            into_id: n.id,
                            into_number: n.number,
                            message_id: m.id,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(n)
                })
            })
            .await
    }
}

/// Longest snooze: a year.
pub const MAX_SNOOZE_MS: i64 = 366 * 24 * 3_600_000;

/// Snoozes `t` until `until` (it waits, pending, and opens again then), or
/// ends its snooze (`None`). The moment must be ahead, within a year; a
/// solved or closed ticket is not snoozed.
async fn snooze(
    tx: &mut Tx,
    t: &mut Ticket,
    until: Option<domain::Timestamp>,
    now: domain::Timestamp,
    ch: &mut Vec<Change>,
) -> Result<(), EngineError> {
    let Some(at) = until else {
        if t.snoozed_until.is_some() {
            record(ch, "snoozed_until", &mut t.snoozed_until, None);
        }
        return Ok(());
    };
    if matches!(t.status, Status::Solved | Status::Closed) {
        return Err(EngineError::Rule(Code::SnoozeDone.into()));
    }
    // Whether the moment is ahead depends on the clock: a conflict, not bad input.
    if at <= now || at.millis() - now.millis() > MAX_SNOOZE_MS {
        return Err(EngineError::Rule(Code::SnoozeWhen.into()));
    }
    if matches!(t.status, Status::New | Status::Open) {
        apply_status(t, Status::Pending, now, ch, tx).await?;
    }
    if t.snoozed_until != Some(at) {
        record(ch, "snoozed_until", &mut t.snoozed_until, Some(at));
        crate::jobs::Job::WakeTicket {
            workspace_id: t.workspace_id,
            ticket_id: t.id,
            at: at.millis(),
        }
        .enqueue(tx, at)
        .await?;
    }
    Ok(())
}

async fn check_assignment(
    tx: &mut Tx,
    ws: WorkspaceId,
    assignee: Option<UserId>,
    team: Option<TeamId>,
) -> Result<(), EngineError> {
    if let Some(a) = assignee {
        match people::user_by_id(&mut tx.conn(), ws, a).await? {
            Some(u) if u.active => {}
            Some(_) => {
                return Err(EngineError::Rule(Code::AssigneeDeactivated.into()));
            }
            None => {
                return Err(EngineError::Unknown(
                    "assignee_id".into(),
                    message::no_such("user"),
                ));
            }
        }
    }
    if let Some(t) = team
        && people::team_by_id(&mut tx.conn(), ws, t).await?.is_none()
    {
        return Err(EngineError::Unknown(
            "team_id".into(),
            message::no_such("team"),
        ));
    }
    Ok(())
}

/// Checks `patch` against the workspace's fields for `target` (a key of
/// another target's field is as unknown as no field) and returns `current`
/// with it applied.
pub(crate) async fn validate_fields(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: domain::fields::FieldTarget,
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, EngineError> {
    if patch.is_empty() {
        return Ok(current.clone());
    }
    let mut defs = tickets::fields(&mut tx.conn(), ws).await?;
    defs.retain(|d| d.applies_to == target);
    let mut out = current.clone();
    let mut errors = Vec::new();
    for (k, v) in patch {
        match defs.iter().find(|d| &d.key == k) {
            None => {
                return Err(EngineError::Unknown(
                    format!("custom_fields.{k}"),
                    message::no_such("custom_field"),
                ));
            }
            Some(d) if d.archived && !v.is_null() => {
                // Whether a value fits depends on the field's state.
                return Err(EngineError::Rule(
                    domain::Message::new(Code::FieldArchived).with("field", &d.key),
                ));
            }
            Some(d) => match d.def().validate(v) {
                Ok(Value::Null) => {
                    out.remove(k);
                }
                Ok(v) => {
                    out.insert(k.clone(), v);
                }
                Err(e) => errors.push(match e {
                    domain::DomainError::Invalid { field, message } => (field, message),
                    other => (format!("custom_fields.{k}"), other.message()),
                }),
            },
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(EngineError::Invalid(errors))
    }
}

async fn require_fields_for_solve(
    tx: &mut Tx,
    ws: WorkspaceId,
    t: &Ticket,
) -> Result<(), EngineError> {
    let defs = tickets::fields(&mut tx.conn(), ws).await?;
    let missing: Vec<(String, domain::Message)> = defs
        .iter()
        .filter(|d| {
            d.applies_to == domain::fields::FieldTarget::Ticket
                && d.required
                && !d.archived
                && !t.custom_fields.contains_key(&d.key)
        })
        .map(|d| {
            (
                format!("custom_fields.{}", d.key),
                domain::Message::new(Code::FieldRequiredToSolve).with("field", &d.key),
            )
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(EngineError::Invalid(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_refs_and_filenames() {
        assert_eq!(TicketRef::parse("1042"), Some(TicketRef::Number(1042)));
        assert_eq!(TicketRef::parse("#7"), Some(TicketRef::Number(7)));
        assert_eq!(TicketRef::parse("0"), None);
        assert_eq!(TicketRef::parse("abc"), None);
        assert!(matches!(
            TicketRef::parse("0190f5f4-7c8a-7000-8000-000000000000"),
            Some(TicketRef::Id(_))
        ));
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\x\\a\"b;.pdf"), "ab.pdf");
        assert_eq!(sanitize_filename(".."), "attachment");
    }

    #[test]
    fn html_only_messages_get_a_text_body() {
        assert_eq!(
            html_to_text("<p>Hello &amp; <b>welcome</b></p><script>x()</script>"),
            "Hello & welcome"
        );
    }
}
