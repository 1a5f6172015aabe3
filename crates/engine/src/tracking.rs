//! What people do on the web, for the journey: tracked short links
//! (`/l/{code}`) and their clicks, and identified visitors' help-center
//! reading and searches.
//!
//! A redirect must be fast (it stands between a customer and the page they
//! asked for), so it never waits for the database: links are cached on each
//! node for a minute, and a click is put in memory and written with the
//! next flush (every second or two), as help-center views are. The flush
//! works out whose click it was — the customer the link was made for, or an
//! identified chat visitor whose browser followed it — and, while the
//! workspace tracks, puts the click on that customer's journey.
//!
//! Invariants: a link leads only where its row says, and only to an address
//! under a target the workspace registered when it was made (no open
//! redirect); a client (address and browser) is counted once per link and
//! ten minutes, in memory and again by the database's unique slot, so a
//! retry, a prefetch or a double tap is one click, on whichever node; without
//! tracking a click is counted for the link but for no one; memory is
//! bounded ([`MAX_CACHED`], [`MAX_PENDING`], [`MAX_RECENT`]) — past the bounds
//! clicks are dropped and counted as dropped, never queued without end. A
//! disabled link stops leading on its node at once and on others within
//! [`CACHE_TTL`].

use crate::journey::TouchpointRow;
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use domain::ids::*;
use domain::journey::{Kind, Settings, Touch};
use domain::message;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
pub use store::links::LinkRow;
use store::links::{self as db, ClickRow};
use store::settings::{self, Table};

/// How long a node trusts its copy of a link (or of a code's absence).
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Codes a node keeps in memory.
pub const MAX_CACHED: usize = 50_000;
/// Clicks waiting for the next write.
pub const MAX_PENDING: usize = 100_000;
/// (link, client) pairs remembered to tell a repeat from a click.
pub const MAX_RECENT: usize = 100_000;
/// A client's clicks on one link within this are one click.
pub const REPEAT_WINDOW_MS: i64 = 10 * 60_000;
/// Longest campaign and name of a link.
pub const MAX_CAMPAIGN_CHARS: usize = 100;
pub const MAX_NAME_CHARS: usize = 200;
/// Customers a link's detail lists with their clicks.
pub const MAX_CLICKERS: i64 = 50;
/// Tries for a free code (a clash of 8 random characters is rare; three in a
/// row means something else is wrong).
const CODE_ATTEMPTS: usize = 3;

/// A new link.
#[derive(Clone, Debug, Default)]
pub struct NewLink {
    pub target: String,
    pub campaign: Option<String>,
    pub name: Option<String>,
    /// The customer the link is for (in a message to them): their clicks count as theirs.
    pub customer_id: Option<CustomerId>,
}

/// Who followed a link: what tells one client from another, and the chat
/// visitors' tokens the browser carries (widget key, token).
#[derive(Clone, Debug, Default)]
pub struct Follower {
    pub address: String,
    pub user_agent: String,
    pub visitors: Vec<(String, String)>,
    /// A crawler, a link preview or a HEAD request: led on, not counted.
    pub robot: bool,
}

/// A chat visitor a browser's cookie names: (widget key, token).
type Cookie = (String, String);

/// Where a code leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Follow {
    To(String),
    /// The link was disabled.
    Gone,
    NotFound,
}

struct Cached {
    link: Option<Arc<LinkRow>>,
    at: Instant,
}

struct Pending {
    link: Arc<LinkRow>,
    client: String,
    visitors: Vec<(String, String)>,
    at: Timestamp,
}

#[derive(Default)]
struct State {
    cache: HashMap<String, Cached>,
    pending: Vec<Pending>,
    recent: HashMap<(LinkId, String), i64>,
    dropped: u64,
}

/// Help-center visits being recorded at once on a node.
pub const MAX_VISITS_IN_FLIGHT: usize = 64;

/// The in-memory side of tracked links, one per node.
#[derive(Clone)]
pub struct Tracking {
    state: Arc<Mutex<State>>,
    visits: Arc<tokio::sync::Semaphore>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            state: Arc::default(),
            visits: Arc::new(tokio::sync::Semaphore::new(MAX_VISITS_IN_FLIGHT)),
        }
    }
}

impl Tracking {
    /// A turn to record a help-center visit in the background; `None` when
    /// [`MAX_VISITS_IN_FLIGHT`] are under way.
    pub fn visit_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.visits.clone().try_acquire_owned().ok()
    }
}

/// What identified visitors do in the help center.
#[derive(Clone, Debug)]
pub enum HelpVisit {
    Article {
        id: ArticleId,
        title: String,
        url: String,
    },
    Search {
        query: String,
        url: String,
    },
}

/// A client as counted: a hash of its address and browser, so neither is kept.
fn client_of(f: &Follower) -> String {
    let mut h = Sha256::new();
    h.update(f.address.as_bytes());
    h.update([0]);
    h.update(f.user_agent.as_bytes());
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn checked_text(field: &str, v: Option<String>, max: usize) -> Result<Option<String>, EngineError> {
    let Some(v) = v else { return Ok(None) };
    if v.chars().any(char::is_control) {
        return Err(EngineError::invalid(field, Code::NoControls));
    }
    let v = domain::text::clean_line(&v);
    if v.chars().count() > max {
        return Err(EngineError::invalid(field, message::max_chars(max)));
    }
    Ok(Some(v).filter(|v| !v.is_empty()))
}

impl Engine {
    /// Makes a tracked link to an address under one of the workspace's
    /// registered targets.
    pub async fn create_link(&self, p: &Principal, l: NewLink) -> Result<LinkRow, EngineError> {
        p.require_ticket_work()?;
        let target = domain::links::parse_url("target", &l.target)?;
        let campaign = checked_text("campaign", l.campaign, MAX_CAMPAIGN_CHARS)?;
        let name = checked_text("name", l.name, MAX_NAME_CHARS)?;
        let ws = p.workspace_id;
        let created_by = Some(p.user_id);
        for _ in 0..CODE_ATTEMPTS {
            let mut random = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
            let (target, campaign, name) = (target.clone(), campaign.clone(), name.clone());
            let customer = l.customer_id;
            let made = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        let s: Settings =
                            settings::read(&mut tx.conn(), Table::Journey, ws).await?;
                        if !domain::links::allowed(&s.link_targets, &target) {
                            return Err(EngineError::Rule(Code::LinkTarget.into()));
                        }
                        let customer_id = match customer {
                            Some(id) => Some(crate::customers::live_id(tx, ws, id).await?),
                            None => None,
                        };
                        let row = LinkRow {
                            id: LinkId::new(),
                            workspace_id: ws,
                            code: domain::links::code_of(random),
                            target,
                            campaign,
                            name,
                            customer_id,
                            clicks: 0,
                            created_by,
                            created_at: tx.now(),
                            disabled_at: None,
                        };
                        Ok(db::insert(tx, &row).await?.then_some(row))
                    })
                })
                .await?;
            if let Some(row) = made {
                self.cache_link(&row.code, Some(Arc::new(row.clone())));
                return Ok(row);
            }
        }
        Err(EngineError::Internal("no free link code".into()))
    }

    pub async fn links(
        &self,
        p: &Principal,
        campaign: Option<&str>,
        before: Option<LinkId>,
        limit: i64,
    ) -> Result<Vec<LinkRow>, EngineError> {
        let mut c = self.store.read().await?;
        let before = match before {
            Some(id) => Some(
                db::get(&mut c.conn(), p.workspace_id, id)
                    .await?
                    .map(|l| (l.created_at, l.id))
                    .ok_or(EngineError::NotFound)?,
            ),
            None => None,
        };
        Ok(db::list(&mut c.conn(), p.workspace_id, campaign, before, limit).await?)
    }

    /// A link with its clicks per customer (most first; `None`: clicks of no
    /// one known).
    pub async fn link(
        &self,
        p: &Principal,
        id: LinkId,
    ) -> Result<(LinkRow, Vec<(Option<CustomerId>, i64)>), EngineError> {
        let mut c = self.store.read().await?;
        let l = db::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let by = db::clicks_by_customer(&mut c.conn(), p.workspace_id, id, MAX_CLICKERS).await?;
        Ok((l, by))
    }

    /// Stops a link leading anywhere (it answers "gone"); its clicks stay.
    pub async fn disable_link(&self, p: &Principal, id: LinkId) -> Result<(), EngineError> {
        p.require_ticket_work()?;
        let ws = p.workspace_id;
        let code = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let l = db::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let now = tx.now();
                    db::disable(tx, ws, id, now).await?;
                    Ok::<_, EngineError>(l.code)
                })
            })
            .await?;
        if let Ok(mut s) = self.tracking.state.lock() {
            s.cache.remove(&code);
        }
        Ok(())
    }

    /// Drops this node's copies of links (they may name a customer who was
    /// just erased).
    pub(crate) fn forget_cached_links(&self) {
        if let Ok(mut s) = self.tracking.state.lock() {
            s.cache.clear();
        }
    }

    fn cache_link(&self, code: &str, link: Option<Arc<LinkRow>>) {
        let Ok(mut s) = self.tracking.state.lock() else {
            return;
        };
        if s.cache.len() >= MAX_CACHED {
            s.cache.retain(|_, c| c.at.elapsed() < CACHE_TTL);
            if s.cache.len() >= MAX_CACHED {
                s.cache.clear();
            }
        }
        s.cache.insert(
            code.to_owned(),
            Cached {
                link,
                at: Instant::now(),
            },
        );
    }

    /// Where `code` leads; counts the click (written with the next flush)
    /// unless it repeats this client's last one on the link.
    pub async fn follow_link(&self, code: &str, f: Follower) -> Result<Follow, EngineError> {
        if !domain::links::is_code(code) {
            return Ok(Follow::NotFound);
        }
        let cached = self.tracking.state.lock().ok().and_then(|s| {
            s.cache
                .get(code)
                .filter(|c| c.at.elapsed() < CACHE_TTL)
                .map(|c| c.link.clone())
        });
        let link = match cached {
            Some(l) => l,
            None => {
                let mut c = self.store.read().await?;
                let l = db::by_code(&mut c.conn(), code).await?.map(Arc::new);
                self.cache_link(code, l.clone());
                l
            }
        };
        let Some(link) = link else {
            return Ok(Follow::NotFound);
        };
        if link.disabled_at.is_some() {
            return Ok(Follow::Gone);
        }
        if !f.robot {
            let now = self.now();
            let client = client_of(&f);
            if let Ok(mut s) = self.tracking.state.lock() {
                let key = (link.id, client.clone());
                let repeat = s
                    .recent
                    .get(&key)
                    .is_some_and(|t| now.millis() - t < REPEAT_WINDOW_MS);
                if !repeat {
                    if s.recent.len() >= MAX_RECENT {
                        let horizon = now.millis() - REPEAT_WINDOW_MS;
                        s.recent.retain(|_, t| *t >= horizon);
                    }
                    if s.recent.len() < MAX_RECENT {
                        s.recent.insert(key, now.millis());
                    }
                    if s.pending.len() < MAX_PENDING {
                        s.pending.push(Pending {
                            link: link.clone(),
                            client,
                            visitors: f.visitors,
                            at: now,
                        });
                    } else {
                        s.dropped += 1;
                    }
                }
            }
        }
        Ok(Follow::To(link.target.clone()))
    }

    /// The customer an identified chat visitor of workspace `ws` is, from
    /// the (widget key, token) pairs a browser carries; `None` for anonymous
    /// visitors (no address, phone or site id given).
    async fn identified(
        &self,
        ws: WorkspaceId,
        visitors: &[(String, String)],
    ) -> Result<Option<CustomerId>, EngineError> {
        for (key, token) in visitors.iter().take(4) {
            let Ok(w) = self.widget(key).await else {
                continue;
            };
            if w.account.workspace_id != ws {
                continue;
            }
            let Ok(v) = self.visitor_by_token(&w, token).await else {
                continue;
            };
            if v.email.is_some() || v.phone.is_some() || v.external_user_id.is_some() {
                let mut c = self.store.read().await?;
                let id = store::customers::get(&mut c.conn(), ws, v.customer_id)
                    .await?
                    .map(|c| c.merged_into.unwrap_or(c.id));
                return Ok(id);
            }
        }
        Ok(None)
    }

    /// Writes the clicks counted since the last flush; what fails to write
    /// is kept for the next attempt. Returns how many were written.
    pub async fn flush_link_clicks(&self) -> Result<usize, EngineError> {
        let (pending, dropped) = {
            let mut s = self
                .tracking
                .state
                .lock()
                .map_err(|_| EngineError::Internal("link clicks poisoned".into()))?;
            (
                std::mem::take(&mut s.pending),
                std::mem::take(&mut s.dropped),
            )
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "too many link clicks waiting; some were not counted"
            );
        }
        if pending.is_empty() {
            return Ok(0);
        }
        // Whose clicks: read before the write, so the writer is held briefly.
        let mut whose = Vec::with_capacity(pending.len());
        let mut tracks: HashMap<WorkspaceId, Settings> = HashMap::new();
        {
            let mut c = self.store.read().await?;
            for k in &pending {
                let ws = k.link.workspace_id;
                if let std::collections::hash_map::Entry::Vacant(e) = tracks.entry(ws) {
                    e.insert(settings::read(&mut c.conn(), Table::Journey, ws).await?);
                }
            }
        }
        let mut known: HashMap<(WorkspaceId, &[Cookie]), Option<CustomerId>> = HashMap::new();
        for k in &pending {
            let ws = k.link.workspace_id;
            let tracking = tracks.get(&ws).is_some_and(|s| s.tracking);
            let customer = match (tracking, k.link.customer_id) {
                (false, _) => None,
                (true, Some(c)) => Some(c),
                // One browser's clicks in a flush are looked up once.
                (true, None) if k.visitors.is_empty() => None,
                (true, None) => match known.get(&(ws, k.visitors.as_slice())) {
                    Some(c) => *c,
                    None => {
                        let c = self.identified(ws, &k.visitors).await?;
                        known.insert((ws, k.visitors.as_slice()), c);
                        c
                    }
                },
            };
            whose.push(customer);
        }
        let rows: Vec<(Arc<LinkRow>, ClickRow)> = pending
            .iter()
            .zip(&whose)
            .map(|(k, c)| {
                (
                    k.link.clone(),
                    ClickRow {
                        id: uuid::Uuid::now_v7(),
                        workspace_id: k.link.workspace_id,
                        link_id: k.link.id,
                        customer_id: *c,
                        client: k.client.clone(),
                        slot: k.at.millis().div_euclid(REPEAT_WINDOW_MS),
                        at: k.at,
                    },
                )
            })
            .collect();
        let n = rows.len();
        let written = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    for (link, k) in rows {
                        if !db::insert_click(tx, &k).await? {
                            continue;
                        }
                        let (Some(customer), Some(s)) =
                            (k.customer_id, tracks.get(&k.workspace_id))
                        else {
                            continue;
                        };
                        let mut attributes = BTreeMap::new();
                        if let Some(c) = &link.campaign {
                            attributes.insert("campaign".to_owned(), c.clone());
                        }
                        let stage = s.stage_of(&Touch {
                            kind: Kind::LinkClick,
                            channel: None,
                            attributes: &attributes,
                        });
                        let now = tx.now();
                        crate::journey::insert_touchpoint(
                            tx,
                            TouchpointRow {
                                id: TouchpointId::new(),
                                workspace_id: k.workspace_id,
                                customer_id: customer,
                                at: k.at,
                                kind: Kind::LinkClick,
                                stage,
                                emotion: None,
                                channel: None,
                                ticket_id: None,
                                reference: Some(link.code.clone()),
                                name: link.name.clone().or_else(|| link.campaign.clone()),
                                url: Some(link.target.clone()),
                                attributes,
                                source: format!("click:{}", k.id),
                                created_at: now,
                            },
                        )
                        .await?;
                    }
                    Ok::<(), EngineError>(())
                })
            })
            .await;
        if let Err(e) = written {
            if let Ok(mut s) = self.tracking.state.lock() {
                let room = MAX_PENDING.saturating_sub(s.pending.len());
                s.pending.extend(pending.into_iter().take(room));
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Flushes the clicks every `every` until `stop`, and once more then.
    pub async fn run_link_clicks(self, every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        crate::kb_activity::periodically(every, stop, "link clicks", || self.flush_link_clicks())
            .await;
    }

    /// Puts an identified visitor's help-center reading or search on their
    /// journey (once a day per article or search), while the workspace
    /// tracks. `visitor` is the chat widget's (key, token) the browser carries.
    pub async fn help_visit(
        &self,
        ws: WorkspaceId,
        visitor: (String, String),
        visit: HelpVisit,
    ) -> Result<bool, EngineError> {
        let s: Settings = {
            let mut c = self.store.read().await?;
            settings::read(&mut c.conn(), Table::Journey, ws).await?
        };
        if !s.tracking {
            return Ok(false);
        }
        let Some(customer) = self.identified(ws, std::slice::from_ref(&visitor)).await? else {
            return Ok(false);
        };
        let now = self.now();
        let day = now.millis().div_euclid(86_400_000);
        let (kind, source, reference, name, url) = match visit {
            HelpVisit::Article { id, title, url } => (
                Kind::ArticleView,
                format!("view:{customer}:{id}:{day}"),
                Some(id.to_string()),
                Some(title),
                url,
            ),
            HelpVisit::Search { query, url } => {
                let q = crate::kb_activity::normalize_query(&query);
                if q.is_empty() {
                    return Ok(false);
                }
                (
                    Kind::Search,
                    format!("search:{customer}:{day}:{q}"),
                    None,
                    Some(q),
                    url,
                )
            }
        };
        let attributes = BTreeMap::new();
        let stage = s.stage_of(&Touch {
            kind,
            channel: None,
            attributes: &attributes,
        });
        let row = TouchpointRow {
            id: TouchpointId::new(),
            workspace_id: ws,
            customer_id: customer,
            at: now,
            kind,
            stage,
            emotion: None,
            channel: None,
            ticket_id: None,
            reference,
            name,
            url: Some(url),
            attributes,
            source,
            created_at: now,
        };
        self.store
            .write(move |tx| Box::pin(crate::journey::insert_touchpoint(tx, row)))
            .await
    }
}
