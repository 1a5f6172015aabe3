//! What readers do in the help center, counted: article views and searches are
//! summed in memory and written every few seconds (a page view must not cost a
//! write of its own), votes on "was this helpful?" are written at once. The
//! knowledge-base report reads them back: popular articles, helpfulness, top
//! searches and the searches that found nothing (content gaps).
//!
//! Invariants: the counters are bounded (new keys are dropped, and counted as
//! dropped, once [`MAX_KEYS`] are waiting); a vote is refused beyond
//! [`VOTES_PER_HOUR`] per client, and a second vote of one client on one article
//! within a day replaces nothing (it is ignored).

use crate::{Engine, EngineError, Principal};
use domain::Timestamp;
use domain::ids::*;
use domain::message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::kb::{self, Vote};

/// Most distinct (article, day) and (query, day) counters held between writes.
pub const MAX_KEYS: usize = 10_000;
/// Votes one client may give in an hour.
pub const VOTES_PER_HOUR: usize = 20;
/// Longest comment kept with a vote, in characters.
pub const MAX_COMMENT_CHARS: usize = 1000;
/// Longest search kept, in characters.
const MAX_QUERY_CHARS: usize = 100;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Articles a report lists, and articles it reads at most to find them (a
/// language filter skips the others).
const MAX_REPORT_ARTICLES: usize = 100;
const MAX_REPORT_LOOKUPS: usize = 1000;

#[derive(Default)]
struct Counts {
    views: HashMap<(WorkspaceId, ArticleId, i64), i64>,
    /// (searches, of them empty)
    searches: HashMap<(WorkspaceId, i64, String, String), (i64, i64)>,
    dropped: u64,
}

#[derive(Default)]
struct Voters {
    /// Per client: when they voted, and on which article.
    by_client: HashMap<String, Vec<(Instant, ArticleId)>>,
}

/// The in-memory side of help-center activity, one per node.
#[derive(Clone, Default)]
pub struct KbActivity {
    counts: Arc<Mutex<Counts>>,
    voters: Arc<Mutex<Voters>>,
}

/// A search as it is counted: lower case, single spaces, at most 100 characters.
pub fn normalize_query(q: &str) -> String {
    let lower = q.to_lowercase();
    let mut out = String::new();
    for w in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out.chars().take(MAX_QUERY_CHARS).collect()
}

fn day_of(t: Timestamp) -> i64 {
    t.millis().div_euclid(DAY_MS)
}

/// The knowledge-base report for a period.
#[derive(Clone, Debug, Default)]
pub struct KbReport {
    pub from_day: i64,
    pub to_day: i64,
    pub articles: Vec<ArticleStats>,
    pub searches: Vec<SearchStats>,
    pub no_results: Vec<SearchStats>,
    pub comments: Vec<VoteComment>,
}

#[derive(Clone, Debug)]
pub struct ArticleStats {
    pub article_id: ArticleId,
    pub title: String,
    pub lang: String,
    pub views: i64,
    pub helpful: i64,
    pub unhelpful: i64,
}

#[derive(Clone, Debug)]
pub struct SearchStats {
    pub lang: String,
    pub query: String,
    pub searches: i64,
    pub empty: i64,
}

#[derive(Clone, Debug)]
pub struct VoteComment {
    pub article_id: ArticleId,
    pub title: String,
    pub helpful: bool,
    pub comment: String,
    pub at: Timestamp,
}

impl Engine {
    /// Counts one view of a public article (written with the next flush).
    pub fn record_view(&self, ws: WorkspaceId, article: ArticleId) {
        let day = day_of(self.now());
        let Ok(mut c) = self.kb_activity.counts.lock() else {
            return;
        };
        let full = c.views.len() + c.searches.len() >= MAX_KEYS;
        match c.views.get_mut(&(ws, article, day)) {
            Some(n) => *n += 1,
            None if full => c.dropped += 1,
            None => {
                c.views.insert((ws, article, day), 1);
            }
        }
    }

    /// Counts one help-center search and whether it found anything.
    pub fn record_search(&self, ws: WorkspaceId, lang: &str, q: &str, found: usize) {
        let q = normalize_query(q);
        if q.is_empty() {
            return;
        }
        let day = day_of(self.now());
        let Ok(mut c) = self.kb_activity.counts.lock() else {
            return;
        };
        let full = c.views.len() + c.searches.len() >= MAX_KEYS;
        let key = (ws, day, lang.to_owned(), q);
        let empty = i64::from(found == 0);
        match c.searches.get_mut(&key) {
            Some((n, e)) => {
                *n += 1;
                *e += empty;
            }
            None if full => c.dropped += 1,
            None => {
                c.searches.insert(key, (1, empty));
            }
        }
    }

    /// Writes the counted views and searches; what fails to write is kept for
    /// the next attempt. Returns how many counters were written.
    pub async fn flush_kb_activity(&self) -> Result<usize, EngineError> {
        let (views, searches, dropped) = {
            let mut c = self
                .kb_activity
                .counts
                .lock()
                .map_err(|_| EngineError::Internal("help-center counters poisoned".into()))?;
            (
                std::mem::take(&mut c.views),
                std::mem::take(&mut c.searches),
                std::mem::take(&mut c.dropped),
            )
        };
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "help-center counters were full; some views or searches were not counted"
            );
        }
        let n = views.len() + searches.len();
        if n == 0 {
            return Ok(0);
        }
        let (v2, s2) = (views.clone(), searches.clone());
        let written = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    for ((ws, a, day), k) in v2 {
                        kb::add_views(tx, ws, a, day, k).await?;
                    }
                    for ((ws, day, lang, q), (k, e)) in s2 {
                        kb::add_searches(tx, ws, day, &lang, &q, k, e).await?;
                    }
                    Ok::<(), EngineError>(())
                })
            })
            .await;
        if let Err(e) = written {
            // Put them back, merged with what arrived meanwhile, within the bound.
            if let Ok(mut c) = self.kb_activity.counts.lock() {
                for (k, v) in views {
                    if c.views.len() + c.searches.len() < MAX_KEYS || c.views.contains_key(&k) {
                        *c.views.entry(k).or_default() += v;
                    }
                }
                for (k, (a, b)) in searches {
                    if c.views.len() + c.searches.len() < MAX_KEYS || c.searches.contains_key(&k) {
                        let s = c.searches.entry(k).or_default();
                        s.0 += a;
                        s.1 += b;
                    }
                }
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Flushes the counters every `every` until `stop`, and once more then.
    pub async fn run_kb_activity(self, every: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        periodically(every, stop, "help-center counts", || {
            self.flush_kb_activity()
        })
        .await;
    }

    /// Records a reader's answer to "was this helpful?" on a public, published
    /// article. `client` identifies the reader for the limits (an address).
    /// Returns whether the vote counted (false: this client already voted on
    /// this article today).
    pub async fn vote_article(
        &self,
        ws: WorkspaceId,
        article: ArticleId,
        helpful: bool,
        comment: Option<&str>,
        client: &str,
    ) -> Result<bool, EngineError> {
        let comment = comment
            .map(domain::text::clean_body)
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS)
        {
            return Err(EngineError::invalid(
                "comment",
                message::max_chars(MAX_COMMENT_CHARS),
            ));
        }
        // Only what readers can see can be voted on.
        self.help_article(ws, article).await?;
        {
            let now = Instant::now();
            let mut v = self
                .kb_activity
                .voters
                .lock()
                .map_err(|_| EngineError::Internal("vote limits poisoned".into()))?;
            if v.by_client.len() >= MAX_KEYS {
                v.by_client.retain(|_, times| {
                    times.retain(|(t, _)| now.duration_since(*t) < Duration::from_secs(24 * 3600));
                    !times.is_empty()
                });
                if v.by_client.len() >= MAX_KEYS {
                    return Err(EngineError::Busy {
                        retry_after_secs: 60,
                    });
                }
            }
            let times = v.by_client.entry(client.to_owned()).or_default();
            times.retain(|(t, _)| now.duration_since(*t) < Duration::from_secs(24 * 3600));
            if times.iter().any(|(_, a)| *a == article) {
                return Ok(false);
            }
            let last_hour = times
                .iter()
                .filter(|(t, _)| now.duration_since(*t) < Duration::from_secs(3600))
                .count();
            if last_hour >= VOTES_PER_HOUR {
                return Err(EngineError::RateLimited {
                    retry_after_secs: 600,
                });
            }
            times.push((now, article));
        }
        let vote = Vote {
            id: uuid::Uuid::now_v7(),
            workspace_id: ws,
            article_id: article,
            helpful,
            comment,
            created_at: self.now(),
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    kb::insert_vote(tx, &vote).await?;
                    Ok::<(), EngineError>(())
                })
            })
            .await?;
        Ok(true)
    }

    /// The most viewed public articles of the last 30 days, for the help
    /// center's home page.
    pub async fn help_popular(
        &self,
        ws: WorkspaceId,
        limit: i64,
    ) -> Result<Vec<ArticleId>, EngineError> {
        let today = day_of(self.now());
        let mut c = self.store.read().await?;
        Ok(kb::top_viewed(&mut c.conn(), ws, today - 29, today, limit)
            .await?
            .into_iter()
            .map(|v| v.0)
            .collect())
    }

    /// Views, helpfulness and searches over the last `days` days (today
    /// included), in `lang` when given. Editors of the knowledge base only.
    pub async fn kb_report(
        &self,
        p: &Principal,
        days: i64,
        lang: Option<&str>,
    ) -> Result<KbReport, EngineError> {
        crate::kb::require_editor(p)?;
        if !(1..=366).contains(&days) {
            return Err(EngineError::invalid("days", message::range(1, 366)));
        }
        let ws = p.workspace_id;
        let now = self.now();
        let to_day = day_of(now);
        let from_day = to_day - days + 1;
        let from = Timestamp::from_millis(from_day * DAY_MS);
        let to = Timestamp::from_millis((to_day + 1) * DAY_MS);
        let mut c = self.store.read().await?;
        let views = kb::top_viewed(&mut c.conn(), ws, from_day, to_day, 1000).await?;
        let votes = kb::vote_counts(&mut c.conn(), ws, from, to).await?;
        let mut by_article: HashMap<ArticleId, (i64, i64, i64)> = HashMap::new();
        for v in views {
            by_article.entry(v.0).or_default().0 += v.1;
        }
        for v in votes {
            let e = by_article.entry(v.article_id).or_default();
            e.1 += v.helpful;
            e.2 += v.unhelpful;
        }
        // Most read (then most voted on) first; titles are read for the ones
        // shown only, however many articles were read in the period.
        let mut ranked: Vec<(ArticleId, (i64, i64, i64))> = by_article.into_iter().collect();
        ranked.sort_by(|a, b| (b.1.0, b.1.1 + b.1.2, a.0).cmp(&(a.1.0, a.1.1 + a.1.2, b.0)));
        let mut articles = Vec::new();
        for (id, (views, helpful, unhelpful)) in ranked.into_iter().take(MAX_REPORT_LOOKUPS) {
            if articles.len() == MAX_REPORT_ARTICLES {
                break;
            }
            let Some(a) = kb::article(&mut c.conn(), ws, id).await? else {
                continue;
            };
            if lang.is_some_and(|l| l != a.lang) {
                continue;
            }
            articles.push(ArticleStats {
                article_id: id,
                title: a.title,
                lang: a.lang,
                views,
                helpful,
                unhelpful,
            });
        }
        let stats = |v: Vec<kb::SearchCount>| -> Vec<SearchStats> {
            v.into_iter()
                .map(|s| SearchStats {
                    lang: s.lang,
                    query: s.query,
                    searches: s.searches,
                    empty: s.empty,
                })
                .collect()
        };
        let searches =
            stats(kb::top_searches(&mut c.conn(), ws, from_day, to_day, lang, false, 50).await?);
        let no_results =
            stats(kb::top_searches(&mut c.conn(), ws, from_day, to_day, lang, true, 50).await?);
        let mut comments = Vec::new();
        for v in kb::recent_comments(&mut c.conn(), ws, from, to, 50).await? {
            let Some(a) = kb::article(&mut c.conn(), ws, v.article_id).await? else {
                continue;
            };
            if lang.is_some_and(|l| l != a.lang) {
                continue;
            }
            comments.push(VoteComment {
                article_id: v.article_id,
                title: a.title,
                helpful: v.helpful,
                comment: v.comment.unwrap_or_default(),
                at: v.created_at,
            });
        }
        Ok(KbReport {
            from_day,
            to_day,
            articles,
            searches,
            no_results,
            comments,
        })
    }
}

/// Runs `flush` every `every` until `stop`, and once more then; a failed
/// flush is logged (what it writes is kept for the next one).
pub(crate) async fn periodically<F, Fut>(
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    what: &'static str,
    mut flush: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, EngineError>>,
{
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if let Err(e) = flush().await {
            tracing::warn!(error = %e, what, "writing failed; kept for the next attempt");
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_counted_in_one_form() {
        assert_eq!(normalize_query("  Где   МОЙ заказ\t"), "где мой заказ");
        assert_eq!(normalize_query(&"я".repeat(300)).chars().count(), 100);
    }
}
