//! Routing tickets to agents, and agents' presence.
//!
//! The [`Routing`] consumer follows the event log: a ticket that arrives in a
//! routed team (or comes back to its queue) is given to an agent by the team's
//! mode (`domain::routing`); when capacity frees — a ticket solved or handed
//! on, an agent coming online, a team switched to routing — the team's waiting
//! queue drains, most urgent and oldest first. Being one consumer, held by one
//! node at a time, its decisions never race each other: no ticket is given
//! twice and routing never puts anyone above capacity.
//!
//! Presence: an agent's open pages keep `presence_seen_at` fresh; one that was
//! not seen for [`QUIET_MS`] is set offline by the sweep. An agent who goes
//! offline keeps their tickets for the team's grace (`reroute_after_s`), after
//! which a [`Job::Reroute`] puts the ones still new or open back in the queue.

use crate::consumers::{Consumer, Start};
use crate::jobs::Job;
use crate::model::EventRecord;
use crate::{Engine, EngineError, Principal};
use domain::Timestamp;
use domain::event::{Actor, Change, EventData};
use domain::ids::*;
use domain::routing::{Candidate, Need, RoutingMode};
use domain::ticket::Status;
use futures::future::BoxFuture;
use std::collections::HashMap;
use store::Tx;
use store::people::{self, Team, User};
use store::tickets::{self, Ticket};

/// A page not seen for this long no longer keeps its agent online.
pub const QUIET_MS: i64 = 90_000;
/// Most tickets one drain gives out (the next change drains on).
const DRAIN_BATCH: i64 = 200;

/// One transaction's routing decisions, with each channel's candidates loaded
/// once and their loads counted up as tickets are given out.
struct Router {
    team: Team,
    now: Timestamp,
    candidates: HashMap<&'static str, Vec<Candidate>>,
}

impl Router {
    async fn of(tx: &mut Tx, ws: WorkspaceId, team: TeamId) -> Result<Option<Router>, EngineError> {
        let Some(team) = people::team_by_id(&mut tx.conn(), ws, team).await? else {
            return Ok(None);
        };
        if team.routing == RoutingMode::Manual {
            return Ok(None);
        }
        Ok(Some(Router {
            team,
            now: tx.now(),
            candidates: HashMap::new(),
        }))
    }

    /// Gives `t` to an agent, if one is eligible; returns who.
    async fn route(&mut self, tx: &mut Tx, t: &Ticket) -> Result<Option<UserId>, EngineError> {
        if t.assignee_id.is_some()
            || !matches!(t.status, Status::New | Status::Open)
            || t.team_id != Some(self.team.id)
            || crate::bot::holds(tx, t.workspace_id, t.id).await?
        {
            return Ok(None);
        }
        let ws = t.workspace_id;
        let channel = t.channel.as_str();
        if !self.candidates.contains_key(channel) {
            let loaded = people::routing_candidates(&mut tx.conn(), ws, self.team.id, channel)
                .await?
                .into_iter()
                .map(|(u, load)| candidate(&u, channel, load))
                .collect();
            self.candidates.insert(channel, loaded);
        }
        let language = store::customers::language(&mut tx.conn(), ws, t.customer_id).await?;
        let mut wants: Vec<String> = t.tags.clone();
        wants.extend(t.category.iter().map(|c| c.to_lowercase()));
        let need = Need {
            tier: t.tier,
            language: language.as_deref(),
            skills: &wants,
        };
        let pool = self
            .candidates
            .get_mut(channel)
            .map(Vec::as_mut_slice)
            .unwrap_or_default();
        let Some(user) = domain::routing::choose(self.team.routing, &need, pool) else {
            return Ok(None);
        };
        // Strictly after everyone else's turn, even within one instant: round
        // robin must not see a tie and start over with the same agent.
        let turn = pool
            .iter()
            .map(|c| c.routed_at + 1)
            .max()
            .unwrap_or(0)
            .max(self.now.millis());
        if let Some(c) = pool.iter_mut().find(|c| c.user == user) {
            c.load += 1;
            c.routed_at = turn;
        }
        set_assignee(tx, t.clone(), Some(user)).await?;
        people::set_routed_at(tx, ws, user, Timestamp::from_millis(turn)).await?;
        metrics::counter!("otklik_routed_total", "mode" => self.team.routing.as_str()).increment(1);
        Ok(Some(user))
    }
}

fn candidate(u: &User, channel: &str, load: i64) -> Candidate {
    Candidate {
        user: u.id,
        online: u.presence == "online",
        tier: u.tier,
        languages: u.languages.clone(),
        skills: u.skills.iter().map(|s| s.to_lowercase()).collect(),
        capacity: u.capacity_for(channel),
        load,
        routed_at: u.routed_at,
    }
}

/// Sets a ticket's assignee as routing does, recorded as the system's change.
async fn set_assignee(tx: &mut Tx, mut t: Ticket, to: Option<UserId>) -> Result<(), EngineError> {
    let mut changes = Vec::new();
    domain::event::record(&mut changes, "assignee_id", &mut t.assignee_id, to);
    if changes.is_empty() {
        return Ok(());
    }
    t.updated_at = tx.now();
    tickets::update(tx, &t, false).await?;
    tx.emit(
        t.workspace_id,
        Actor::System,
        EventData::TicketUpdated {
            ticket_id: t.id,
            changes,
        },
    )
    .await?;
    Ok(())
}

/// Routes one ticket, if its team routes.
async fn route_ticket(tx: &mut Tx, ws: WorkspaceId, id: TicketId) -> Result<(), EngineError> {
    let Some(t) = tickets::get(&mut tx.conn(), ws, id).await? else {
        return Ok(());
    };
    let Some(team) = t.team_id else { return Ok(()) };
    if t.assignee_id.is_some() {
        return Ok(());
    }
    if let Some(mut r) = Router::of(tx, ws, team).await? {
        r.route(tx, &t).await?;
    }
    Ok(())
}

/// Routes one ticket now (the bot handing a conversation to people).
pub(crate) async fn route_now(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: TicketId,
) -> Result<(), EngineError> {
    route_ticket(tx, ws, id).await
}

/// Gives out a team's waiting tickets while anyone has room.
async fn drain(tx: &mut Tx, ws: WorkspaceId, team: TeamId) -> Result<usize, EngineError> {
    let Some(mut r) = Router::of(tx, ws, team).await? else {
        return Ok(0);
    };
    let waiting = tickets::waiting(&mut tx.conn(), ws, team, DRAIN_BATCH).await?;
    let mut given = 0;
    for t in &waiting {
        if r.route(tx, t).await?.is_some() {
            given += 1;
        }
        // Nobody has room on any channel seen: the rest waits too.
        if r.candidates
            .values()
            .all(|c| c.iter().all(|c| !c.online || c.load >= c.capacity))
            && r.candidates.len() == distinct_channels(&waiting)
        {
            break;
        }
    }
    Ok(given)
}

fn distinct_channels(ts: &[Ticket]) -> usize {
    let mut seen: Vec<&str> = ts.iter().map(|t| t.channel.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

/// Drains every team `user` is in.
async fn drain_teams_of(tx: &mut Tx, ws: WorkspaceId, user: UserId) -> Result<(), EngineError> {
    for team in people::teams_of(&mut tx.conn(), ws, user).await? {
        drain(tx, ws, team.id).await?;
    }
    Ok(())
}

fn changed<'a>(changes: &'a [Change], field: &str) -> Option<&'a Change> {
    changes.iter().find(|c| c.field == field)
}

fn user_of(v: &serde_json::Value) -> Option<UserId> {
    v.as_str()?.parse().ok()
}

/// Gives tickets to agents as they arrive and as capacity frees.
pub struct Routing;

impl Consumer for Routing {
    fn name(&self) -> &'static str {
        "routing"
    }
    /// Routing acts on what happens from now on; a team switched to routing
    /// drains its queue then.
    fn start(&self) -> Start {
        Start::Now
    }
    fn handle<'t>(
        &'t self,
        tx: &'t mut Tx,
        e: &'t EventRecord,
    ) -> BoxFuture<'t, Result<(), EngineError>> {
        Box::pin(async move {
            let ws = e.workspace_id;
            match &e.data {
                EventData::TicketCreated { ticket_id, .. } => {
                    route_ticket(tx, ws, *ticket_id).await
                }
                EventData::TicketUpdated { ticket_id, changes } => {
                    // Room freed: the agent who held it may take the next one.
                    let freed = match (changed(changes, "assignee_id"), changed(changes, "status"))
                    {
                        (Some(a), _) => user_of(&a.from),
                        (None, Some(s)) if !matches!(s.to.as_str(), Some("new" | "open")) => {
                            tickets::get(&mut tx.conn(), ws, *ticket_id)
                                .await?
                                .and_then(|t| t.assignee_id)
                        }
                        _ => None,
                    };
                    if ["team_id", "assignee_id", "status", "tier"]
                        .iter()
                        .any(|f| changed(changes, f).is_some())
                    {
                        route_ticket(tx, ws, *ticket_id).await?;
                    }
                    if let Some(u) = freed {
                        drain_teams_of(tx, ws, u).await?;
                    }
                    Ok(())
                }
                EventData::UserUpdated { user_id, changes } => {
                    if let Some(p) = changed(changes, "presence")
                        && p.to.as_str() == Some("offline")
                    {
                        reroute_later(tx, ws, *user_id).await?;
                    }
                    let more_room = [
                        "presence",
                        "capacity",
                        "channel_capacity",
                        "team_ids",
                        "tier",
                        "languages",
                        "skills",
                        "active",
                    ]
                    .iter()
                    .any(|f| changed(changes, f).is_some());
                    if more_room {
                        drain_teams_of(tx, ws, *user_id).await?;
                    }
                    Ok(())
                }
                EventData::TeamUpdated { team_id, changes }
                    if changed(changes, "routing").is_some() =>
                {
                    drain(tx, ws, *team_id).await.map(|_| ())
                }
                _ => Ok(()),
            }
        })
    }
}

/// Moves a presence if it still is `from`, recording the change.
async fn presence_changed(
    tx: &mut Tx,
    ws: WorkspaceId,
    user: UserId,
    from: &str,
    to: &str,
    seen_before: Option<Timestamp>,
) -> Result<bool, EngineError> {
    if !people::change_presence(tx, ws, user, from, to, seen_before).await? {
        return Ok(false);
    }
    let changes = vec![Change {
        field: "presence".into(),
        from: serde_json::Value::from(from),
        to: serde_json::Value::from(to),
    }];
    tx.emit(
        ws,
        Actor::System,
        EventData::UserUpdated {
            user_id: user,
            changes,
        },
    )
    .await?;
    Ok(true)
}

/// Queues the hand-back of an agent's tickets after each team's grace.
async fn reroute_later(tx: &mut Tx, ws: WorkspaceId, user: UserId) -> Result<(), EngineError> {
    for team in people::teams_of(&mut tx.conn(), ws, user).await? {
        if let (Some(after), true) = (team.reroute_after_s, team.routing != RoutingMode::Manual) {
            Job::Reroute {
                workspace_id: ws,
                user_id: user,
                team_id: team.id,
            }
            .enqueue(tx, tx.now().plus_millis(after * 1000))
            .await?;
        }
    }
    Ok(())
}

impl Engine {
    /// Puts an agent's new and open tickets in a team back in its queue, if they
    /// are still offline.
    pub(crate) async fn reroute(
        &self,
        ws: WorkspaceId,
        user: UserId,
        team: TeamId,
    ) -> Result<usize, EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let still_away = people::user_by_id(&mut tx.conn(), ws, user)
                        .await?
                        .is_none_or(|u| u.presence == "offline");
                    if !still_away {
                        return Ok(0);
                    }
                    let held = tickets::held_in_team(&mut tx.conn(), ws, user, team, 500).await?;
                    let n = held.len();
                    for t in held {
                        set_assignee(tx, t, None).await?;
                    }
                    Ok::<_, EngineError>(n)
                })
            })
            .await
    }

    /// Notes that a page of the signed-in agent is open: they are seen now,
    /// and online if they were offline. `idle`: the page saw no input for a
    /// while (online turns away); `Some(false)`: input again (away turns online).
    pub async fn agent_seen(&self, p: &Principal, idle: Option<bool>) -> Result<(), EngineError> {
        let (ws, me) = (p.workspace_id, p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::seen(tx, ws, me).await?;
                    let Some(u) = people::user_by_id(&mut tx.conn(), ws, me).await? else {
                        return Ok(());
                    };
                    let to = match (u.presence.as_str(), idle) {
                        ("offline", _) => "online",
                        ("online", Some(true)) => "away",
                        ("away", Some(false)) => "online",
                        _ => return Ok(()),
                    };
                    presence_changed(tx, ws, me, &u.presence, to, None).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// Sets offline everyone whose pages went quiet; returns how many.
    pub async fn presence_sweep(&self) -> Result<usize, EngineError> {
        let before = self.now().plus_millis(-QUIET_MS);
        let quiet = {
            let mut c = self.store.read().await?;
            people::gone_quiet(&mut c.conn(), before, 500).await?
        };
        let mut n = 0;
        for u in quiet {
            let (ws, id) = (u.workspace_id, u.id);
            let changed = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        presence_changed(tx, ws, id, &u.presence, "offline", Some(before)).await
                    })
                })
                .await?;
            n += usize::from(changed);
        }
        Ok(n)
    }
}
