//! Users, teams, API tokens and browser sessions.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::user::Role;
use std::collections::BTreeMap;

/// Someone who works in a workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub tier: i64,
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    /// Tickets at once on channels `channel_capacity` does not list.
    pub capacity: i64,
    /// Tickets at once per channel (`chat` → 4, `email` → 10).
    pub channel_capacity: BTreeMap<String, i64>,
    pub presence: String,
    /// When a page of theirs was last seen open (presence follows it).
    pub presence_seen_at: Option<Timestamp>,
    /// When routing last gave them a ticket (Unix ms; 0: never).
    pub routed_at: i64,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// What they chose for themselves (language, zone, signature, alerts).
    pub preferences: domain::user::Preferences,
}

impl User {
    /// Tickets of `channel` they may hold at once.
    pub fn capacity_for(&self, channel: &str) -> i64 {
        self.channel_capacity
            .get(channel)
            .copied()
            .unwrap_or(self.capacity)
    }
}

/// How many columns `USER_COLS` names; columns selected after them start here.
const USER_N: usize = 17;

const USER_COLS: &str = "u.id, u.workspace_id, u.email, u.name, u.role, u.tier, u.languages, u.skills, u.capacity, u.presence, u.active, u.created_at, u.updated_at, \
                         u.channel_capacity, u.presence_seen_at, u.routed_at, u.preferences";

impl FromRow for User {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(User {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            email: r.get(2)?,
            name: r.get(3)?,
            role: r.parse(4, Role::parse)?,
            tier: r.get(5)?,
            languages: r.json(6)?,
            skills: r.json(7)?,
            capacity: r.get(8)?,
            presence: r.get(9)?,
            active: r.get(10)?,
            created_at: r.time(11)?,
            updated_at: r.time(12)?,
            channel_capacity: r.json(13)?,
            presence_seen_at: r.time_opt(14)?,
            routed_at: r.get(15)?,
            preferences: r.json(16)?,
        })
    }
}

/// Stores what a person chose for themselves.
pub async fn set_preferences(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: UserId,
    p: &domain::user::Preferences,
    now: Timestamp,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let n = tx
        .conn()
        .execute(
            &query("UPDATE users SET preferences = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .bind(text)
                .bind(now),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub async fn insert_user(
    tx: &mut Tx,
    u: &User,
    password_hash: Option<&str>,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO users (id, workspace_id, email, name, role, tier, languages, skills, capacity, presence, password_hash, active, created_at, updated_at, \
         channel_capacity, presence_seen_at, routed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(u.id)
    .bind(u.workspace_id)
    .bind(&u.email)
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.tier)
    .bind(json(&u.languages))
    .bind(json(&u.skills))
    .bind(u.capacity)
    .bind(&u.presence)
    .bind(password_hash)
    .bind(u.active)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(capacities(&u.channel_capacity))
    .bind(u.presence_seen_at)
    .bind(u.routed_at);
    tx.conn().execute(&q).await.map(|_| ())
}

fn capacities(m: &BTreeMap<String, i64>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

pub async fn update_user(tx: &mut Tx, u: &User) -> Result<(), StoreError> {
    let q = query(
        "UPDATE users SET name = $3, role = $4, tier = $5, languages = $6, skills = $7, capacity = $8, presence = $9, active = $10, updated_at = $11, \
         channel_capacity = $12, presence_seen_at = $13 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(u.workspace_id)
    .bind(u.id)
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(u.tier)
    .bind(json(&u.languages))
    .bind(json(&u.skills))
    .bind(u.capacity)
    .bind(&u.presence)
    .bind(u.active)
    .bind(u.updated_at)
    .bind(capacities(&u.channel_capacity))
    .bind(u.presence_seen_at);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn set_password(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: UserId,
    hash: &str,
) -> Result<(), StoreError> {
    let q = query(
        "UPDATE users SET password_hash = $3, updated_at = $4 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(ws)
    .bind(id)
    .bind(hash)
    .bind(tx.now());
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn user_by_id(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: UserId,
) -> Result<Option<User>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {USER_COLS} FROM users u WHERE u.workspace_id = $1 AND u.id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The user and their password hash, for login.
pub async fn user_by_email(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    email: &str,
) -> Result<Option<(User, Option<String>)>, StoreError> {
    struct WithHash(User, Option<String>);
    impl FromRow for WithHash {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(WithHash(User::from_row(r)?, r.get(USER_N)?))
        }
    }
    let q = query(format!("SELECT {USER_COLS}, u.password_hash FROM users u WHERE u.workspace_id = $1 AND u.email = $2")).bind(ws).bind(email);
    Ok(c.fetch_optional::<WithHash>(&q).await?.map(|w| (w.0, w.1)))
}

/// Active owners of the workspace other than `except`.
pub async fn other_active_owners(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    except: UserId,
) -> Result<i64, StoreError> {
    c.fetch_one(
        &query(
            "SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND role = 'owner' AND active = $2 AND id <> $3",
        )
        .bind(ws)
        .bind(true)
        .bind(except),
    )
    .await
}

pub async fn list_users(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<UserId>,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    let q = query(format!(
        "SELECT {USER_COLS} FROM users u WHERE u.workspace_id = $1 AND ($2 IS NULL OR u.id > $2) ORDER BY u.id LIMIT $3"
    ))
    .bind(ws)
    .bind(after)
    .bind(limit);
    c.fetch_all(&q).await
}

/// Team ids of each of `users`, in one query.
pub async fn teams_of_users(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    users: &[UserId],
) -> Result<Vec<(UserId, TeamId)>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let mut q =
        query("SELECT user_id, team_id FROM team_members WHERE workspace_id = $1 AND user_id IN (")
            .bind(ws);
    q = q
        .bind_list(users.iter().copied())
        .push(") ORDER BY user_id, team_id");
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> = c.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .map(|(u, t)| (UserId(u), TeamId(t)))
        .collect())
}

/// Replaces the user's team memberships. Team ids must belong to `ws`.
pub async fn set_user_teams(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
    teams: &[TeamId],
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("DELETE FROM team_members WHERE workspace_id = $1 AND user_id = $2")
                .bind(ws)
                .bind(user),
        )
        .await?;
    for t in teams {
        let q = query(
            "INSERT INTO team_members (workspace_id, team_id, user_id) \
             SELECT $1, id, $3 FROM teams WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws)
        .bind(*t)
        .bind(user);
        if tx.conn().execute(&q).await? == 0 {
            return Err(StoreError::NotFound);
        }
    }
    Ok(())
}

/// A team (queue).
#[derive(Clone, Debug, PartialEq)]
pub struct Team {
    pub id: TeamId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub tier: i64,
    pub routing: domain::routing::RoutingMode,
    /// Seconds a ticket stays with an agent who went offline before it goes
    /// back to the queue; `None`: it stays.
    pub reroute_after_s: Option<i64>,
    /// Where an escalation from this team goes.
    pub escalate_to: Option<TeamId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for Team {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Team {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            name: r.get(2)?,
            tier: r.get(3)?,
            created_at: r.time(4)?,
            updated_at: r.time(5)?,
            routing: r.parse(6, domain::routing::RoutingMode::parse)?,
            reroute_after_s: r.get(7)?,
            escalate_to: r.id_opt(8)?,
        })
    }
}

const TEAM_COLS: &str =
    "id, workspace_id, name, tier, created_at, updated_at, routing, reroute_after_s, escalate_to";

pub async fn insert_team(tx: &mut Tx, t: &Team) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO teams ({TEAM_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(t.id)
    .bind(t.workspace_id)
    .bind(&t.name)
    .bind(t.tier)
    .bind(t.created_at)
    .bind(t.updated_at)
    .bind(t.routing.as_str())
    .bind(t.reroute_after_s)
    .bind(t.escalate_to);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_team(tx: &mut Tx, t: &Team) -> Result<(), StoreError> {
    let q = query("UPDATE teams SET name = $3, tier = $4, updated_at = $5, routing = $6, reroute_after_s = $7, escalate_to = $8 \
                   WHERE workspace_id = $1 AND id = $2")
        .bind(t.workspace_id)
        .bind(t.id)
        .bind(&t.name)
        .bind(t.tier)
        .bind(t.updated_at)
        .bind(t.routing.as_str())
        .bind(t.reroute_after_s)
        .bind(t.escalate_to);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn team_by_id(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: TeamId,
) -> Result<Option<Team>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {TEAM_COLS} FROM teams WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

pub async fn list_teams(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    after: Option<TeamId>,
    limit: i64,
) -> Result<Vec<Team>, StoreError> {
    let q = query(format!("SELECT {TEAM_COLS} FROM teams WHERE workspace_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"))
        .bind(ws)
        .bind(after)
        .bind(limit);
    c.fetch_all(&q).await
}

pub async fn team_members(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    team: TeamId,
) -> Result<Vec<UserId>, StoreError> {
    let q = query("SELECT user_id FROM team_members WHERE workspace_id = $1 AND team_id = $2 ORDER BY user_id").bind(ws).bind(team);
    let ids: Vec<uuid::Uuid> = c.fetch_all(&q).await?;
    Ok(ids.into_iter().map(UserId).collect())
}

/// An API token's metadata (never the secret).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiToken {
    pub id: TokenId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl FromRow for ApiToken {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            user_id: r.id(2)?,
            name: r.get(3)?,
            created_at: r.time(4)?,
            last_used_at: r.time_opt(5)?,
            revoked_at: r.time_opt(6)?,
        })
    }
}

const TOKEN_COLS: &str =
    "t.id, t.workspace_id, t.user_id, t.name, t.created_at, t.last_used_at, t.revoked_at";

pub async fn insert_token(tx: &mut Tx, t: &ApiToken, hash: &[u8]) -> Result<(), StoreError> {
    let q = query("INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(t.id)
        .bind(t.workspace_id)
        .bind(t.user_id)
        .bind(&t.name)
        .bind(hash)
        .bind(t.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The live token with this hash and its active user. Not scoped by workspace: the
/// token is what tells the workspace.
pub async fn token_auth(
    c: &mut Conn<'_>,
    hash: &[u8],
) -> Result<Option<(ApiToken, User)>, StoreError> {
    struct Pair(ApiToken, User);
    impl FromRow for Pair {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            let t = ApiToken {
                id: r.id(USER_N)?,
                workspace_id: r.id(USER_N + 1)?,
                user_id: r.id(USER_N + 2)?,
                name: r.get(USER_N + 3)?,
                created_at: r.time(USER_N + 4)?,
                last_used_at: r.time_opt(USER_N + 5)?,
                revoked_at: r.time_opt(USER_N + 6)?,
            };
            Ok(Pair(t, User::from_row(r)?))
        }
    }
    let q = query(format!(
        "SELECT {USER_COLS}, {TOKEN_COLS} FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.workspace_id = t.workspace_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = $2"
    ))
    .bind(hash)
    .bind(true);
    Ok(c.fetch_optional::<Pair>(&q).await?.map(|p| (p.0, p.1)))
}

pub async fn touch_token(tx: &mut Tx, id: TokenId) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now),
        )
        .await
        .map(|_| ())
}

pub async fn revoke_token(tx: &mut Tx, ws: WorkspaceId, id: TokenId) -> Result<(), StoreError> {
    let now = tx.now();
    let q = query("UPDATE api_tokens SET revoked_at = $3 WHERE workspace_id = $1 AND id = $2 AND revoked_at IS NULL").bind(ws).bind(id).bind(now);
    match tx.conn().execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn list_tokens(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<ApiToken>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {TOKEN_COLS} FROM api_tokens t WHERE t.workspace_id = $1 ORDER BY t.id"
        ))
        .bind(ws),
    )
    .await
}

/// A browser session (never the cookie secret).
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub csrf_token: String,
    pub remember: bool,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert_session(tx: &mut Tx, s: &Session, hash: &[u8]) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO sessions (id, workspace_id, user_id, token_hash, csrf_token, remember, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.id)
    .bind(s.workspace_id)
    .bind(s.user_id)
    .bind(hash)
    .bind(&s.csrf_token)
    .bind(s.remember)
    .bind(s.created_at)
    .bind(s.expires_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// The unexpired session with this cookie hash and its active user.
pub async fn session_auth(
    c: &mut Conn<'_>,
    hash: &[u8],
    now: Timestamp,
) -> Result<Option<(Session, User)>, StoreError> {
    struct Pair(Session, User);
    impl FromRow for Pair {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            let s = Session {
                id: r.id(USER_N)?,
                workspace_id: r.id(USER_N + 1)?,
                user_id: r.id(USER_N + 2)?,
                csrf_token: r.get(USER_N + 3)?,
                remember: r.get(USER_N + 4)?,
                created_at: r.time(USER_N + 5)?,
                expires_at: r.time(USER_N + 6)?,
            };
            Ok(Pair(s, User::from_row(r)?))
        }
    }
    let q = query(format!(
        "SELECT {USER_COLS}, s.id, s.workspace_id, s.user_id, s.csrf_token, s.remember, s.created_at, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = $3"
    ))
    .bind(hash)
    .bind(now)
    .bind(true);
    Ok(c.fetch_optional::<Pair>(&q).await?.map(|p| (p.0, p.1)))
}

pub async fn delete_session(tx: &mut Tx, hash: &[u8]) -> Result<(), StoreError> {
    tx.conn()
        .execute(&query("DELETE FROM sessions WHERE token_hash = $1").bind(hash))
        .await
        .map(|_| ())
}

/// Ends every session of a user (after a password change, say), except `keep`.
pub async fn delete_user_sessions(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<(), StoreError> {
    let q = query("DELETE FROM sessions WHERE workspace_id = $1 AND user_id = $2 AND ($3 IS NULL OR id <> $3)").bind(ws).bind(user).bind(keep);
    tx.conn().execute(&q).await.map(|_| ())
}

/// A team's members as routing sees them, each with the number of new and open
/// tickets of `channel` they hold.
pub async fn routing_candidates(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    team: TeamId,
    channel: &str,
) -> Result<Vec<(User, i64)>, StoreError> {
    struct WithLoad(User, i64);
    impl FromRow for WithLoad {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            Ok(WithLoad(User::from_row(r)?, r.get(USER_N)?))
        }
    }
    let rows: Vec<WithLoad> = c
        .fetch_all(
            &query(format!(
                "SELECT {USER_COLS}, (SELECT COUNT(*) FROM tickets t WHERE t.workspace_id = $1 AND t.assignee_id = u.id \
                 AND t.status IN ('new', 'open') AND t.channel = $3) \
                 FROM users u JOIN team_members m ON m.user_id = u.id AND m.team_id = $2 AND m.workspace_id = $1 \
                 WHERE u.workspace_id = $1 AND u.active AND u.role IN ('owner', 'admin', 'agent') ORDER BY u.id"
            ))
            .bind(ws)
            .bind(team)
            .bind(channel),
        )
        .await?;
    Ok(rows.into_iter().map(|WithLoad(u, n)| (u, n)).collect())
}

/// Notes that routing gave `user` a ticket at `at`.
pub async fn set_routed_at(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    tx.conn()
        .execute(
            &query("UPDATE users SET routed_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(user)
                .bind(at.millis()),
        )
        .await
        .map(|_| ())
}

/// Notes that a page of `user` is open now.
pub async fn seen(tx: &mut Tx, ws: WorkspaceId, user: UserId) -> Result<(), StoreError> {
    let now = tx.now();
    tx.conn()
        .execute(
            &query("UPDATE users SET presence_seen_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(user)
                .bind(now),
        )
        .await
        .map(|_| ())
}

/// Users shown online or away whose pages were last seen before `before`, in
/// every workspace: the presence sweep is the server's, like the job queue,
/// and each change it makes is written per workspace.
pub async fn gone_quiet(
    c: &mut Conn<'_>,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<User>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {USER_COLS} FROM users u WHERE u.presence IN ('online', 'away', 'busy') \
             AND (u.presence_seen_at IS NULL OR u.presence_seen_at < $1) ORDER BY u.id LIMIT $2"
        ))
        .bind(before)
        .bind(limit),
    )
    .await
}

/// The teams a user is in.
pub async fn teams_of(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    user: UserId,
) -> Result<Vec<Team>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {} FROM teams t JOIN team_members m ON m.team_id = t.id AND m.workspace_id = $1 \
             WHERE t.workspace_id = $1 AND m.user_id = $2 ORDER BY t.id",
            TEAM_COLS
                .split(", ")
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(ws)
        .bind(user),
    )
    .await
}

/// Moves a user's presence from `from` to `to` (and, with `seen_before`, only
/// if their pages were last seen before then); `false` when it was not `from`
/// any more. Two nodes doing it at once: one changes it, the other sees that.
pub async fn change_presence(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: UserId,
    from: &str,
    to: &str,
    seen_before: Option<Timestamp>,
) -> Result<bool, StoreError> {
    let now = tx.now();
    let n = tx
        .conn()
        .execute(
            &query(
                "UPDATE users SET presence = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2 AND presence = $3 \
                 AND ($6 IS NULL OR presence_seen_at IS NULL OR presence_seen_at < $6)",
            )
            .bind(ws)
            .bind(id)
            .bind(from)
            .bind(to)
            .bind(now)
            .bind(seen_before),
        )
        .await?;
    Ok(n > 0)
}

/// An agent's Telegram chat for notifications: the bot and the chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelegramLink {
    pub account_id: AccountId,
    pub chat_id: i64,
    pub linked_at: Timestamp,
}

impl FromRow for TelegramLink {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(TelegramLink {
            account_id: r.id(0)?,
            chat_id: r.get(1)?,
            linked_at: r.time(2)?,
        })
    }
}

/// Links (or re-links) an agent's Telegram chat.
pub async fn link_telegram(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
    link: &TelegramLink,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO user_telegram (workspace_id, user_id, account_id, chat_id, linked_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
         account_id = excluded.account_id, chat_id = excluded.chat_id, linked_at = excluded.linked_at",
    )
    .bind(ws)
    .bind(user)
    .bind(link.account_id)
    .bind(link.chat_id)
    .bind(link.linked_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn unlink_telegram(tx: &mut Tx, ws: WorkspaceId, user: UserId) -> Result<(), StoreError> {
    let q = query("DELETE FROM user_telegram WHERE workspace_id = $1 AND user_id = $2")
        .bind(ws)
        .bind(user);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn telegram_link(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    user: UserId,
) -> Result<Option<TelegramLink>, StoreError> {
    c.fetch_optional(
        &query(
            "SELECT account_id, chat_id, linked_at FROM user_telegram WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(ws)
        .bind(user),
    )
    .await
}
