//! Tickets, their messages and attachments, and custom field definitions.

use crate::sql::Arg;
use crate::{Conn, FromRow, Query, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::fields::FieldType;
use domain::ids::*;
use domain::ticket::{AuthorKind, Channel, DeliveryState, Priority, Status, Visibility};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A ticket row.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub workspace_id: WorkspaceId,
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub channel: Channel,
    pub customer_id: CustomerId,
    pub assignee_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub tier: i64,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub follow_up_of: Option<TicketId>,
    /// The channel account the ticket came in through; replies leave by it.
    pub account_id: Option<AccountId>,
    /// Addresses an agent confirmed as copies of replies.
    pub cc: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub solved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Snoozed by an agent: pending until then, when it opens again.
    pub snoozed_until: Option<Timestamp>,
    /// Merged into that ticket (and closed): its messages are there.
    pub merged_into: Option<TicketId>,
}

const COLS: &str = "t.id, t.workspace_id, t.number, t.subject, t.status, t.priority, t.channel, t.customer_id, t.assignee_id, t.team_id, \
                    t.tier, t.category, t.tags, t.custom_fields, t.follow_up_of, t.created_at, t.updated_at, t.solved_at, t.closed_at, t.account_id, t.cc, \
                    t.snoozed_until, t.merged_into";

impl FromRow for Ticket {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Ticket {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            number: r.get(2)?,
            subject: r.get(3)?,
            status: r.parse(4, Status::parse)?,
            priority: r.parse(5, Priority::parse)?,
            channel: r.parse(6, Channel::parse)?,
            customer_id: r.id(7)?,
            assignee_id: r.id_opt(8)?,
            team_id: r.id_opt(9)?,
            tier: r.get(10)?,
            category: r.get(11)?,
            tags: r.json(12)?,
            custom_fields: r.json(13)?,
            follow_up_of: r.id_opt(14)?,
            created_at: r.time(15)?,
            updated_at: r.time(16)?,
            solved_at: r.time_opt(17)?,
            closed_at: r.time_opt(18)?,
            account_id: r.id_opt(19)?,
            cc: r.json(20)?,
            snoozed_until: r.time_opt(21)?,
            merged_into: r.id_opt(22)?,
        })
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// When the workspace's first ticket was created (ids are time-ordered).
pub async fn first_created(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = c
        .fetch_optional(
            &query("SELECT created_at FROM tickets WHERE workspace_id = $1 ORDER BY id LIMIT 1")
                .bind(ws),
        )
        .await?;
    Ok(at.map(Timestamp::from_millis))
}

pub async fn insert(tx: &mut Tx, t: &Ticket) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO tickets (id, workspace_id, number, subject, status, priority, channel, customer_id, assignee_id, team_id, tier, \
         category, tags, custom_fields, follow_up_of, created_at, updated_at, solved_at, closed_at, account_id, cc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(t.id)
    .bind(t.workspace_id)
    .bind(t.number)
    .bind(&t.subject)
    .bind(t.status.as_str())
    .bind(t.priority.as_str())
    .bind(t.channel.as_str())
    .bind(t.customer_id)
    .bind(t.assignee_id)
    .bind(t.team_id)
    .bind(t.tier)
    .bind(t.category.as_deref())
    .bind(to_json(&t.tags)?)
    .bind(to_json(&t.custom_fields)?)
    .bind(t.follow_up_of)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(t.solved_at)
    .bind(t.closed_at)
    .bind(t.account_id)
    .bind(to_json(&t.cc)?);
    tx.conn().execute(&q).await?;
    insert_tags(tx, t.workspace_id, t.id, &t.tags).await
}

async fn insert_tags(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TicketId,
    tags: &[String],
) -> Result<(), StoreError> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut q = query("INSERT INTO ticket_tags (workspace_id, ticket_id, tag) VALUES ");
    for (i, tag) in tags.iter().enumerate() {
        q = q.bind_row(
            if i == 0 { "" } else { ", " },
            [Arg::from(ws), id.into(), tag.into()],
        );
    }
    tx.conn().execute(&q).await.map(|_| ())
}

/// Writes every mutable column of `t`; tags are re-synced when `tags_changed`.
pub async fn update(tx: &mut Tx, t: &Ticket, tags_changed: bool) -> Result<(), StoreError> {
    let q = query(
        "UPDATE tickets SET subject = $3, status = $4, priority = $5, assignee_id = $6, team_id = $7, tier = $8, category = $9, \
         tags = $10, custom_fields = $11, updated_at = $12, solved_at = $13, closed_at = $14, cc = $15, snoozed_until = $16, \
         merged_into = $17 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(t.workspace_id)
    .bind(t.id)
    .bind(&t.subject)
    .bind(t.status.as_str())
    .bind(t.priority.as_str())
    .bind(t.assignee_id)
    .bind(t.team_id)
    .bind(t.tier)
    .bind(t.category.as_deref())
    .bind(to_json(&t.tags)?)
    .bind(to_json(&t.custom_fields)?)
    .bind(t.updated_at)
    .bind(t.solved_at)
    .bind(t.closed_at)
    .bind(to_json(&t.cc)?)
    .bind(t.snoozed_until)
    .bind(t.merged_into);
    if tx.conn().execute(&q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    if tags_changed {
        tx.conn()
            .execute(
                &query("DELETE FROM ticket_tags WHERE workspace_id = $1 AND ticket_id = $2")
                    .bind(t.workspace_id)
                    .bind(t.id),
            )
            .await?;
        insert_tags(tx, t.workspace_id, t.id, &t.tags).await?;
    }
    Ok(())
}

/// Marks the ticket as touched (a new message) without other changes.
pub async fn touch(tx: &mut Tx, ws: WorkspaceId, id: TicketId) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query("UPDATE tickets SET updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(now),
        )
        .await
        .map(|_| ())
}

pub async fn get(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: TicketId,
) -> Result<Option<Ticket>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1 AND t.id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

pub async fn get_by_number(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    number: i64,
) -> Result<Option<Ticket>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1 AND t.number = $2"
        ))
        .bind(ws)
        .bind(number),
    )
    .await
}

/// The customer's newest ticket that came in through `account` (a messaging
/// conversation continues on it).
pub async fn latest_on_account(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    customer: CustomerId,
    account: AccountId,
) -> Result<Option<Ticket>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1 AND t.customer_id = $2 AND t.account_id = $3 \
             ORDER BY t.created_at DESC, t.id DESC LIMIT 1"
        ))
        .bind(ws)
        .bind(customer)
        .bind(account),
    )
    .await
}

/// Which tickets a list shows. Every field narrows; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub statuses: Vec<Status>,
    pub priorities: Vec<Priority>,
    pub channels: Vec<Channel>,
    /// `Some(None)` asks for unassigned tickets.
    pub assignee: Option<Option<UserId>>,
    pub team: Option<Option<TeamId>>,
    pub customer: Option<CustomerId>,
    pub tag: Option<String>,
    /// Words that must appear in the subject or a message (case-insensitive
    /// substring): the fallback where no search index answers.
    pub text: Option<String>,
    /// Only these tickets (what a search index found).
    pub ids: Option<Vec<TicketId>>,
    /// Only tickets solved at or after this moment.
    pub solved_since: Option<Timestamp>,
    /// Only tickets whose SLA is at risk or breached at the given moment.
    pub sla: Option<(SlaView, Timestamp)>,
    /// Only tickets this person follows.
    pub follower: Option<UserId>,
    pub sort: Sort,
}

/// The SLA views: a clock still counting whose warning has fallen but whose
/// target has not, or one past its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaView {
    AtRisk,
    Breached,
}

impl SlaView {
    pub const ALL: [SlaView; 2] = [SlaView::AtRisk, SlaView::Breached];
    pub fn as_str(self) -> &'static str {
        match self {
            SlaView::AtRisk => "at_risk",
            SlaView::Breached => "breached",
        }
    }
    pub fn parse(s: &str) -> Option<SlaView> {
        SlaView::ALL.into_iter().find(|x| x.as_str() == s)
    }
    fn condition(self) -> &'static str {
        match self {
            SlaView::AtRisk => "s.warn_at <= $N AND s.due_at > $N",
            SlaView::Breached => "s.due_at <= $N",
        }
    }
}

/// The order of a ticket list. Cursor paging (`before`) follows `Newest` only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    /// Most recently changed first.
    Updated,
    /// Most urgent first, newest first within a priority.
    Priority,
    /// The nearest SLA target first; tickets without a running clock last.
    Sla,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Newest,
        Sort::Oldest,
        Sort::Updated,
        Sort::Priority,
        Sort::Sla,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Updated => "updated",
            Sort::Priority => "priority",
            Sort::Sla => "sla",
        }
    }
    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|x| x.as_str() == s)
    }
    fn order_by(self) -> &'static str {
        match self {
            Sort::Newest => " ORDER BY t.id DESC",
            Sort::Oldest => " ORDER BY t.id ASC",
            Sort::Updated => " ORDER BY t.updated_at DESC, t.id DESC",
            Sort::Priority => {
                " ORDER BY (CASE priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END) DESC, t.id DESC"
            }
            Sort::Sla => {
                " ORDER BY COALESCE((SELECT s.due_at FROM ticket_sla s WHERE s.ticket_id = t.id), 9223372036854775807), t.id ASC"
            }
        }
    }
}

fn in_list<T: Copy>(q: Query, column: &str, items: &[T], as_str: fn(T) -> &'static str) -> Query {
    if items.is_empty() {
        return q;
    }
    q.push(&format!(" AND {column} IN ("))
        .bind_list(items.iter().map(|it| as_str(*it)))
        .push(")")
}

/// `%s%` for a LIKE … ESCAPE '\\' search, lower-cased, with LIKE's own
/// characters escaped.
pub(crate) fn like_pattern(s: &str) -> String {
    format!(
        "%{}%",
        s.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Tickets newest first, after the cursor `before` (an id from the previous page).
pub async fn list(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    f: &Filter,
    before: Option<TicketId>,
    limit: i64,
) -> Result<Vec<Ticket>, StoreError> {
    list_page(c, ws, f, before, 0, limit).await
}

/// A page of a ticket list: after `before` (newest-first cursor) or skipping
/// `offset` rows in the filter's sort order.
pub async fn list_page(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    f: &Filter,
    before: Option<TicketId>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Ticket>, StoreError> {
    let mut q = query(format!(
        "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1"
    ))
    .bind(ws);
    if let Some(b) = before {
        let n = q.next_param();
        q = q.push(&format!(" AND t.id < ${n}")).bind(b);
    }
    q = narrow(q, f).push(f.sort.order_by());
    let n = q.next_param();
    q = q.push(&format!(" LIMIT ${n}")).bind(limit);
    if offset > 0 {
        let n = q.next_param();
        q = q.push(&format!(" OFFSET ${n}")).bind(offset);
    }
    c.fetch_all(&q).await
}

/// How many tickets a filter matches.
pub async fn count_matching(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    f: &Filter,
) -> Result<i64, StoreError> {
    let q = query("SELECT COUNT(*) FROM tickets t WHERE t.workspace_id = $1").bind(ws);
    c.fetch_one(&narrow(q, f)).await
}

fn narrow(mut q: Query, f: &Filter) -> Query {
    q = in_list(q, "t.status", &f.statuses, Status::as_str);
    q = in_list(q, "t.priority", &f.priorities, Priority::as_str);
    q = in_list(q, "t.channel", &f.channels, Channel::as_str);
    match f.assignee {
        Some(Some(u)) => {
            let n = q.next_param();
            q = q.push(&format!(" AND t.assignee_id = ${n}")).bind(u);
        }
        Some(None) => q = q.push(" AND t.assignee_id IS NULL"),
        None => {}
    }
    match f.team {
        Some(Some(t)) => {
            let n = q.next_param();
            q = q.push(&format!(" AND t.team_id = ${n}")).bind(t);
        }
        Some(None) => q = q.push(" AND t.team_id IS NULL"),
        None => {}
    }
    if let Some(cust) = f.customer {
        let n = q.next_param();
        q = q.push(&format!(" AND t.customer_id = ${n}")).bind(cust);
    }
    if let Some(since) = f.solved_since {
        let n = q.next_param();
        q = q.push(&format!(" AND t.solved_at >= ${n}")).bind(since);
    }
    if let Some((view, now)) = f.sla {
        let n = q.next_param();
        let cond = view.condition().replace("$N", &format!("${n}"));
        q = q
            .push(&format!(
                " AND t.status IN ('new', 'open') AND EXISTS (SELECT 1 FROM ticket_sla s WHERE s.workspace_id = $1 AND s.ticket_id = t.id AND {cond})"
            ))
            .bind(now);
    }
    if let Some(u) = f.follower {
        let n = q.next_param();
        q = q
            .push(&format!(" AND EXISTS (SELECT 1 FROM ticket_followers w WHERE w.workspace_id = $1 AND w.ticket_id = t.id AND w.user_id = ${n})"))
            .bind(u);
    }
    if let Some(tag) = &f.tag {
        let n = q.next_param();
        q = q
            .push(&format!(" AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.workspace_id = $1 AND g.ticket_id = t.id AND g.tag = ${n})"))
            .bind(tag.as_str());
    }
    if let Some(ids) = &f.ids {
        q = if ids.is_empty() {
            q.push(" AND 1 = 0")
        } else {
            q.push(" AND t.id IN (")
                .bind_list(ids.iter().copied())
                .push(")")
        };
    }
    if let Some(text) = &f.text {
        let n = q.next_param();
        q = q
            .push(&format!(
                " AND (LOWER(t.subject) LIKE ${n} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.workspace_id = $1 \
                 AND m.ticket_id = t.id AND LOWER(m.body_text) LIKE ${n} ESCAPE '\\'))"
            ))
            .bind(like_pattern(text));
    }
    q
}

/// The sizes of the agent's standard inbox views.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewCounts {
    /// New, open and on-hold tickets assigned to the agent.
    pub mine: i64,
    pub unassigned: i64,
    pub all_open: i64,
    pub pending: i64,
    /// Solved at or after the `solved_since` given.
    pub recently_solved: i64,
    /// Open tickets per team.
    pub teams: Vec<(TeamId, i64)>,
    pub sla_at_risk: i64,
    pub sla_breached: i64,
    /// Tickets the agent follows that are not solved yet.
    pub following: i64,
}

/// The statuses an "open" view shows: work waiting on the team.
pub const OPEN_STATUSES: [Status; 3] = [Status::New, Status::Open, Status::OnHold];

/// Counts every standard view in four queries.
pub async fn view_counts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    me: UserId,
    solved_since: Timestamp,
    now: Timestamp,
) -> Result<ViewCounts, StoreError> {
    struct Row5([i64; 5]);
    impl FromRow for Row5 {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(Row5([
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
            ]))
        }
    }
    const OPEN: &str = "t.status IN ('new', 'open', 'on_hold')";
    let sql = format!(
        "SELECT COALESCE(SUM(CASE WHEN {OPEN} AND t.assignee_id = $2 THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN {OPEN} AND t.assignee_id IS NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN {OPEN} THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN t.status = 'pending' THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN t.status = 'solved' AND t.solved_at >= $3 THEN 1 ELSE 0 END), 0) \
         FROM tickets t WHERE t.workspace_id = $1 AND t.status <> 'closed'"
    );
    let Row5([mine, unassigned, all_open, pending, recently_solved]) = c
        .fetch_one(&query(sql).bind(ws).bind(me).bind(solved_since))
        .await?;
    let teams: Vec<(Uuid, i64)> = c
        .fetch_all(
            &query(format!(
                "SELECT t.team_id, COUNT(*) FROM tickets t WHERE t.workspace_id = $1 AND {OPEN} \
                 AND t.team_id IS NOT NULL GROUP BY t.team_id"
            ))
            .bind(ws),
        )
        .await?;
    let (sla_at_risk, sla_breached): (i64, i64) = c
        .fetch_one(
            &query(
                "SELECT COALESCE(SUM(CASE WHEN s.warn_at <= $2 AND s.due_at > $2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN s.due_at <= $2 THEN 1 ELSE 0 END), 0) \
                 FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id \
                 WHERE s.workspace_id = $1 AND s.due_at IS NOT NULL AND t.status IN ('new', 'open')",
            )
            .bind(ws)
            .bind(now),
        )
        .await?;
    let following = c
        .fetch_one(
            &query(
                "SELECT COUNT(*) FROM ticket_followers f JOIN tickets t ON t.id = f.ticket_id \
                 WHERE f.workspace_id = $1 AND f.user_id = $2 AND t.status IN ('new', 'open', 'on_hold', 'pending')",
            )
            .bind(ws)
            .bind(me),
        )
        .await?;
    Ok(ViewCounts {
        following,
        mine,
        unassigned,
        all_open,
        pending,
        recently_solved,
        teams: teams.into_iter().map(|(id, n)| (TeamId(id), n)).collect(),
        sla_at_risk,
        sla_breached,
    })
}

/// Tickets in every workspace (benchmarks verify their counts with it).
pub async fn count_all(c: &mut Conn<'_>) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT COUNT(*) FROM tickets")).await
}

pub async fn count(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<i64, StoreError> {
    c.fetch_one(&query("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1").bind(ws))
        .await
}

/// Customers' messages of one channel in every workspace, and the files on
/// them (benchmarks verify with it).
pub async fn count_customer_messages_all(
    c: &mut Conn<'_>,
    channel: Channel,
) -> Result<(i64, i64), StoreError> {
    let messages = c
        .fetch_one(
            &query("SELECT COUNT(*) FROM messages WHERE channel = $1 AND author_kind = 'customer'")
                .bind(channel.as_str()),
        )
        .await?;
    let files = c
        .fetch_one(
            &query(
                "SELECT COUNT(*) FROM attachments a JOIN messages m ON m.id = a.message_id \
                 WHERE m.channel = $1 AND m.author_kind = 'customer'",
            )
            .bind(channel.as_str()),
        )
        .await?;
    Ok((messages, files))
}

/// A message in a ticket's thread.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub ticket_id: TicketId,
    pub visibility: Visibility,
    pub author_kind: AuthorKind,
    pub author_user_id: Option<UserId>,
    pub author_customer_id: Option<CustomerId>,
    pub channel: Channel,
    pub body_text: String,
    /// Already sanitised when stored.
    pub body_html: Option<String>,
    pub external_id: Option<String>,
    pub delivery_state: Option<DeliveryState>,
    pub delivery_error: Option<String>,
    /// The channel account it came in or leaves by.
    pub account_id: Option<AccountId>,
    pub created_at: Timestamp,
    pub attachments: Vec<Attachment>,
}

const MSG_COLS: &str = "id, workspace_id, ticket_id, visibility, author_kind, author_user_id, author_customer_id, channel, body_text, \
                        body_html, external_id, delivery_state, delivery_error, created_at, account_id";

impl FromRow for Message {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let delivery: Option<String> = r.get(11)?;
        Ok(Message {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            ticket_id: r.id(2)?,
            visibility: r.parse(3, Visibility::parse)?,
            author_kind: r.parse(4, AuthorKind::parse)?,
            author_user_id: r.id_opt(5)?,
            author_customer_id: r.id_opt(6)?,
            channel: r.parse(7, Channel::parse)?,
            body_text: r.get(8)?,
            body_html: r.get(9)?,
            external_id: r.get(10)?,
            delivery_state: delivery
                .map(|d| DeliveryState::parse(&d))
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            delivery_error: r.get(12)?,
            created_at: r.time(13)?,
            account_id: r.id_opt(14)?,
            attachments: Vec::new(),
        })
    }
}

/// The newest message the ticket's own customer wrote on it (not a third party
/// who wrote in on the thread).
pub async fn last_from_customer(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    customer: CustomerId,
) -> Result<Option<Message>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {MSG_COLS} FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND author_customer_id = $3 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(customer),
    )
    .await
}

/// Of `tickets`, those whose newest public message is the customer's, with
/// when they wrote it: the customer is waiting for an answer since then.
pub async fn waiting_since(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    tickets: &[TicketId],
) -> Result<Vec<(TicketId, Timestamp)>, StoreError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(
        "SELECT m.ticket_id, m.created_at FROM messages m WHERE m.workspace_id = $1 \
         AND m.author_kind = 'customer' AND m.id IN (SELECT (SELECT m2.id FROM messages m2 \
         WHERE m2.workspace_id = $1 AND m2.ticket_id = t.id AND m2.visibility = 'public' \
         ORDER BY m2.id DESC LIMIT 1) FROM tickets t WHERE t.workspace_id = $1 AND t.id IN (",
    )
    .bind(ws)
    .bind_list(tickets.iter().copied())
    .push("))");
    let rows: Vec<(uuid::Uuid, i64)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(|(t, at)| (TicketId(t), Timestamp::from_millis(at)))
        .collect())
}

/// When the ticket's customer last wrote (messaging windows count from it).
pub async fn last_customer_message_at(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
) -> Result<Option<Timestamp>, StoreError> {
    let t: Option<i64> = c
        .fetch_one(
            &query(
                "SELECT MAX(created_at) FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND author_kind = 'customer'",
            )
            .bind(ws)
            .bind(ticket),
        )
        .await?;
    Ok(t.map(Timestamp::from_millis))
}

pub async fn insert_message(tx: &mut Tx, m: &Message) -> Result<(), StoreError> {
    let q = query(format!("INSERT INTO messages ({MSG_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"))
        .bind(m.id)
        .bind(m.workspace_id)
        .bind(m.ticket_id)
        .bind(m.visibility.as_str())
        .bind(m.author_kind.as_str())
        .bind(m.author_user_id)
        .bind(m.author_customer_id)
        .bind(m.channel.as_str())
        .bind(&m.body_text)
        .bind(m.body_html.as_deref())
        .bind(m.external_id.as_deref())
        .bind(m.delivery_state.map(|d| d.as_str()))
        .bind(m.delivery_error.as_deref())
        .bind(m.created_at)
        .bind(m.account_id);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The message ingested earlier under this channel's external id.
/// The message with an external id: unique per account for messages of an
/// account, per channel among the workspace's other messages.
pub async fn message_by_external(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    channel: Channel,
    account: Option<AccountId>,
    external_id: &str,
) -> Result<Option<Message>, StoreError> {
    let q = match account {
        Some(a) => query(format!(
            "SELECT {MSG_COLS} FROM messages WHERE account_id = $1 AND external_id = $2 AND workspace_id = $3"
        ))
        .bind(a)
        .bind(external_id)
        .bind(ws),
        None => query(format!(
            "SELECT {MSG_COLS} FROM messages WHERE workspace_id = $1 AND channel = $2 AND external_id = $3 AND account_id IS NULL"
        ))
        .bind(ws)
        .bind(channel.as_str())
        .bind(external_id),
    };
    c.fetch_optional(&q).await
}

pub async fn message(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: MessageId,
) -> Result<Option<Message>, StoreError> {
    let Some(mut m) = c
        .fetch_optional::<Message>(
            &query(format!(
                "SELECT {MSG_COLS} FROM messages WHERE workspace_id = $1 AND id = $2"
            ))
            .bind(ws)
            .bind(id),
        )
        .await?
    else {
        return Ok(None);
    };
    m.attachments = attachments_of(c, ws, &[m.id]).await?;
    Ok(Some(m))
}

/// The texts of a ticket's messages, oldest first, until `max_bytes` (for the
/// search index, which needs nothing else of them).
pub async fn message_texts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    max_bytes: usize,
) -> Result<Vec<String>, StoreError> {
    let q = query("SELECT body_text FROM messages WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id LIMIT 1000")
        .bind(ws)
        .bind(ticket);
    let all: Vec<String> = c.fetch_all(&q).await?;
    let mut total = 0;
    Ok(all
        .into_iter()
        .take_while(|t| {
            total += t.len();
            total <= max_bytes
        })
        .collect())
}

/// The start of each message's text (at most `chars` characters), for lists
/// that show many messages at once.
pub async fn snippets(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[MessageId],
    chars: i64,
) -> Result<Vec<(MessageId, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(
        "SELECT id, SUBSTR(body_text, 1, CAST($2 AS INTEGER)) FROM messages WHERE workspace_id = $1 AND id IN (",
    )
    .bind(ws)
    .bind(chars);
    let rows: Vec<(uuid::Uuid, String)> = c
        .fetch_all(&q.bind_list(ids.iter().copied()).push(")"))
        .await?;
    Ok(rows.into_iter().map(|(id, t)| (MessageId(id), t)).collect())
}

/// The number and subject of each ticket.
pub async fn headlines(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ids: &[TicketId],
) -> Result<Vec<(TicketId, i64, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = query("SELECT id, number, subject FROM tickets WHERE workspace_id = $1 AND id IN (")
        .bind(ws);
    let rows: Vec<(uuid::Uuid, i64, String)> = c
        .fetch_all(&q.bind_list(ids.iter().copied()).push(")"))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n, s)| (TicketId(id), n, s))
        .collect())
}

/// A ticket's thread, oldest first, after the cursor `after`.
pub async fn messages(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    after: Option<MessageId>,
    limit: i64,
) -> Result<Vec<Message>, StoreError> {
    let q = query(format!(
        "SELECT {MSG_COLS} FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4"
    ))
    .bind(ws)
    .bind(ticket)
    .bind(after)
    .bind(limit);
    let mut rows: Vec<Message> = c.fetch_all(&q).await?;
    let ids: Vec<MessageId> = rows.iter().map(|m| m.id).collect();
    let atts = attachments_of(c, ws, &ids).await?;
    for m in &mut rows {
        m.attachments = atts
            .iter()
            .filter(|a| a.message_id == Some(m.id))
            .cloned()
            .collect();
    }
    Ok(rows)
}

/// Replies to the customer on a ticket up to `up_to` (by id) that are not read
/// yet, oldest first, at most 500 (a visitor's read mark).
pub async fn unread_replies(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    up_to: MessageId,
) -> Result<Vec<Message>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {MSG_COLS} FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND id <= $3 \
             AND visibility = 'public' AND author_kind <> 'customer' \
             AND delivery_state IN ('queued', 'sent', 'delivered') ORDER BY id LIMIT 500"
        ))
        .bind(ws)
        .bind(ticket)
        .bind(up_to),
    )
    .await
}

pub async fn set_delivery(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: MessageId,
    state: DeliveryState,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let q = query("UPDATE messages SET delivery_state = $3, delivery_error = $4 WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(id)
        .bind(state.as_str())
        .bind(error);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// An attachment's metadata; the bytes are in the blob store under `sha256`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub workspace_id: WorkspaceId,
    pub message_id: Option<MessageId>,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: Option<UserId>,
    pub created_at: Timestamp,
}

const ATT_COLS: &str =
    "id, workspace_id, message_id, sha256, filename, content_type, size, uploaded_by, created_at";

impl FromRow for Attachment {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Attachment {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            message_id: r.id_opt(2)?,
            sha256: r.get(3)?,
            filename: r.get(4)?,
            content_type: r.get(5)?,
            size: r.get(6)?,
            uploaded_by: r.id_opt(7)?,
            created_at: r.time(8)?,
        })
    }
}

pub async fn insert_attachment(tx: &mut Tx, a: &Attachment) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO attachments ({ATT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(a.id)
    .bind(a.workspace_id)
    .bind(a.message_id)
    .bind(&a.sha256)
    .bind(&a.filename)
    .bind(&a.content_type)
    .bind(a.size)
    .bind(a.uploaded_by)
    .bind(a.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Deletes up to `limit` uploads that no message took, made at or before
/// `before` (any workspace: this is housekeeping); returns the SHA-256 of each
/// one's bytes. At or before: an upload of the same millisecond as the cut-off
/// is as old as asked.
pub async fn delete_unattached(
    tx: &mut Tx,
    before: domain::Timestamp,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let q = query(
        "DELETE FROM attachments WHERE id IN \
         (SELECT id FROM attachments WHERE message_id IS NULL AND created_at <= $1 LIMIT $2) \
         RETURNING sha256",
    )
    .bind(before)
    .bind(limit);
    tx.conn().fetch_all(&q).await
}

/// Whether any attachment, channel message or held message still uses the bytes
/// stored under `sha256`.
pub async fn blob_in_use(c: &mut Conn<'_>, sha256: &str) -> Result<bool, StoreError> {
    let q = query(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1) \
         OR EXISTS (SELECT 1 FROM channel_messages WHERE raw_sha256 = $1) \
         OR EXISTS (SELECT 1 FROM held_messages WHERE raw_sha256 = $1) \
         OR EXISTS (SELECT 1 FROM kb_media WHERE sha256 = $1)",
    )
    .bind(sha256);
    c.fetch_one(&q).await
}

pub async fn attachment(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: AttachmentId,
) -> Result<Option<Attachment>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {ATT_COLS} FROM attachments WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// Attaches uploaded, not yet used attachments of the workspace to a message.
/// `NotFound` if any of them is unknown, of another workspace or already used.
pub async fn link_attachments(
    tx: &mut Tx,
    ws: WorkspaceId,
    message: MessageId,
    ids: &[AttachmentId],
) -> Result<(), StoreError> {
    for id in ids {
        let q = query("UPDATE attachments SET message_id = $3 WHERE workspace_id = $1 AND id = $2 AND message_id IS NULL").bind(ws).bind(*id).bind(message);
        if tx.conn().execute(&q).await? == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

async fn attachments_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    messages: &[MessageId],
) -> Result<Vec<Attachment>, StoreError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let q = query(format!(
        "SELECT {ATT_COLS} FROM attachments WHERE workspace_id = $1 AND message_id IN ("
    ))
    .bind(ws);
    c.fetch_all(&q.bind_list(messages.iter().copied()).push(") ORDER BY id"))
        .await
}

/// A custom field definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub id: FieldId,
    pub workspace_id: WorkspaceId,
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub options: Vec<String>,
    pub required: bool,
    pub created_at: Timestamp,
    /// Where admins put it among the workspace's fields (lower first).
    pub position: i64,
    /// Takes no new values and blocks no solve; tickets keep what they have.
    pub archived: bool,
    /// What it describes: tickets, customers or organisations.
    pub applies_to: domain::fields::FieldTarget,
}

impl FromRow for Field {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Field {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            key: r.get(2)?,
            label: r.get(3)?,
            field_type: r.parse(4, FieldType::parse)?,
            options: r.json(5)?,
            required: r.get(6)?,
            created_at: r.time(7)?,
            position: r.get(8)?,
            archived: r.get(9)?,
            applies_to: r.parse(10, domain::fields::FieldTarget::parse)?,
        })
    }
}

impl Field {
    pub fn def(&self) -> domain::fields::FieldDef {
        domain::fields::FieldDef {
            key: self.key.clone(),
            field_type: self.field_type,
            options: self.options.clone(),
            required: self.required,
        }
    }
}

pub async fn insert_field(tx: &mut Tx, f: &Field) -> Result<(), StoreError> {
    let q = query("INSERT INTO custom_fields (id, workspace_id, key, label, field_type, options, required, created_at, position, archived, applies_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(f.id)
        .bind(f.workspace_id)
        .bind(&f.key)
        .bind(&f.label)
        .bind(f.field_type.as_str())
        .bind(to_json(&f.options)?)
        .bind(f.required)
        .bind(f.created_at)
        .bind(f.position)
        .bind(f.archived)
        .bind(f.applies_to.as_str());
    tx.conn().execute(&q).await.map(|_| ())
}

/// Moves one message to another ticket (a split), with what hangs on it: its
/// channel records (so the customer's next message on that thread finds the
/// new ticket), triage and a solution mark.
pub async fn move_message(
    tx: &mut Tx,
    ws: WorkspaceId,
    message: MessageId,
    to: TicketId,
) -> Result<(), StoreError> {
    for (table, key) in [
        ("messages", "id"),
        ("channel_messages", "message_id"),
        ("message_triage", "message_id"),
        ("solution_notes", "message_id"),
    ] {
        tx.conn()
            .execute(
                &query(format!(
                    "UPDATE {table} SET ticket_id = $3 WHERE workspace_id = $1 AND {key} = $2"
                ))
                .bind(ws)
                .bind(message)
                .bind(to),
            )
            .await?;
    }
    Ok(())
}

/// How many messages of the ticket came before this one.
pub async fn messages_before(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    ticket: TicketId,
    message: MessageId,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(
            "SELECT COUNT(*) FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND id < $3",
        )
        .bind(ws)
        .bind(ticket)
        .bind(message),
    )
    .await
}

/// Moves everything that hangs on `from`'s messages to `to` (a merge): the
/// messages, their channel records (so the customer's next message on the
/// thread finds `to`), triage, solution marks, experts, followers and side
/// conversations. Returns how many
/// messages moved.
pub async fn move_messages(
    tx: &mut Tx,
    ws: WorkspaceId,
    from: TicketId,
    to: TicketId,
) -> Result<u64, StoreError> {
    let mut moved = 0;
    for table in [
        "messages",
        "channel_messages",
        "message_triage",
        "solution_notes",
    ] {
        let n = tx
            .conn()
            .execute(
                &query(format!(
                    "UPDATE {table} SET ticket_id = $3 WHERE workspace_id = $1 AND ticket_id = $2"
                ))
                .bind(ws)
                .bind(from)
                .bind(to),
            )
            .await?;
        if table == "messages" {
            moved = n;
        }
    }
    for table in ["ticket_collaborators", "ticket_followers"] {
        tx.conn()
            .execute(
                &query(format!(
                    "INSERT INTO {table} (ticket_id, workspace_id, user_id, added_by, added_at) \
                     SELECT $3, workspace_id, user_id, added_by, added_at FROM {table} \
                     WHERE workspace_id = $1 AND ticket_id = $2 ON CONFLICT DO NOTHING"
                ))
                .bind(ws)
                .bind(from)
                .bind(to),
            )
            .await?;
        tx.conn()
            .execute(
                &query(format!(
                    "DELETE FROM {table} WHERE workspace_id = $1 AND ticket_id = $2"
                ))
                .bind(ws)
                .bind(from),
            )
            .await?;
    }
    crate::sides::move_to(tx, ws, from, to).await?;
    Ok(moved)
}

/// Saves what may change of a field: its label, options, whether it is
/// required, its position and whether it is archived.
pub async fn update_field(tx: &mut Tx, f: &Field) -> Result<(), StoreError> {
    let q = query("UPDATE custom_fields SET label = $3, options = $4, required = $5, position = $6, archived = $7 WHERE workspace_id = $1 AND id = $2")
        .bind(f.workspace_id)
        .bind(f.id)
        .bind(&f.label)
        .bind(to_json(&f.options)?)
        .bind(f.required)
        .bind(f.position)
        .bind(f.archived);
    tx.conn().execute(&q).await.map(|_| ())
}

const FIELD_COLS: &str = "id, workspace_id, key, label, field_type, options, required, created_at, position, archived, applies_to";

/// The workspace's fields in the admins' order (archived ones too).
pub async fn fields(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Field>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {FIELD_COLS} FROM custom_fields WHERE workspace_id = $1 ORDER BY position, key"
        ))
        .bind(ws),
    )
    .await
}

pub async fn field(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: FieldId,
) -> Result<Option<Field>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {FIELD_COLS} FROM custom_fields WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A team's waiting queue: its unassigned new and open tickets, most urgent
/// first, oldest first within an urgency.
pub async fn waiting(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    team: TeamId,
    limit: i64,
) -> Result<Vec<Ticket>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1 AND t.team_id = $2 AND t.assignee_id IS NULL \
             AND t.status IN ('new', 'open') \
             ORDER BY (CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'normal' THEN 1 ELSE 0 END) DESC, t.id ASC LIMIT $3"
        ))
        .bind(ws)
        .bind(team)
        .bind(limit),
    )
    .await
}

/// The new and open tickets a user holds in a team.
pub async fn held_in_team(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    user: UserId,
    team: TeamId,
    limit: i64,
) -> Result<Vec<Ticket>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {COLS} FROM tickets t WHERE t.workspace_id = $1 AND t.assignee_id = $2 AND t.team_id = $3 \
             AND t.status IN ('new', 'open') ORDER BY t.id LIMIT $4"
        ))
        .bind(ws)
        .bind(user)
        .bind(team)
        .bind(limit),
    )
    .await
}

/// Marks a message as a messenger template (its name, language, parameters).
pub async fn insert_message_template(
    tx: &mut Tx,
    ws: WorkspaceId,
    message: MessageId,
    template: &serde_json::Value,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO message_templates (message_id, workspace_id, template) VALUES ($1, $2, $3)",
    )
    .bind(message)
    .bind(ws)
    .bind(template.to_string());
    tx.conn().execute(&q).await.map(|_| ())
}

/// The template a message is sent as, if it is one.
pub async fn message_template(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    message: MessageId,
) -> Result<Option<serde_json::Value>, StoreError> {
    let t: Option<String> = c
        .fetch_optional(
            &query("SELECT template FROM message_templates WHERE workspace_id = $1 AND message_id = $2")
                .bind(ws)
                .bind(message),
        )
        .await?;
    t.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}
