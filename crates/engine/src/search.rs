//! The seam to full-text search. The index lives above the engine (the `search`
//! crate) and is derived data; the engine asks it which tickets a text matches
//! and, where no index is installed, falls back to a substring scan.
//!
//! The feed is what an index reads to stay current: the whole event log in
//! commit order and the documents its events name. It has no principal: the
//! index serves every workspace, and every query to it names its workspace.

use crate::model::{Cursor, EventRecord};
use crate::{Engine, EngineError};
use domain::ids::*;
use domain::message;
use store::{customers, events, tickets};

/// Tickets a text matches, as an index answers.
pub trait TextSearch: Send + Sync + 'static {
    /// The tickets of `ws` whose subject, messages or customer match `q`, best
    /// first, at most `limit`.
    fn tickets(&self, ws: WorkspaceId, q: &str, limit: usize) -> Result<Vec<TicketId>, String>;
    /// The tickets of `ws` most alike `text` (any of its words may match),
    /// best first, at most `limit`.
    fn similar_tickets(
        &self,
        ws: WorkspaceId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<TicketId>, String>;
    /// Knowledge-base articles and FAQ entries of `ws` for `q`, best first; those
    /// in `lang` first among equals; only public ones when `public_only`.
    fn kb(
        &self,
        ws: WorkspaceId,
        q: &str,
        lang: Option<&str>,
        public_only: bool,
        limit: usize,
    ) -> Result<Vec<KbHit>, String>;
}

/// One knowledge-base search result.
#[derive(Clone, Debug, PartialEq)]
pub struct KbHit {
    /// `article` or `faq`.
    pub kind: String,
    pub id: String,
    pub group_id: String,
    pub lang: String,
    pub title: String,
    /// HTML: the best passage, matched words in `<mark>`, everything else escaped.
    pub snippet: String,
    pub score: f32,
    pub slug: String,
}

/// Most tickets a search narrows a list to.
pub const MAX_MATCHES: usize = 1000;

/// A ticket as the index sees it.
#[derive(Clone, Debug)]
pub struct TicketDoc {
    pub workspace_id: WorkspaceId,
    pub id: TicketId,
    pub number: i64,
    pub subject: String,
    /// The customer's name and identities.
    pub customer: String,
    pub customer_id: CustomerId,
    /// The messages' texts, oldest first (up to [`MAX_TEXT_BYTES`] in all).
    pub texts: Vec<String>,
}

/// Most message text indexed per ticket.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;

/// What the knowledge base offers to search: an article's published text, or a
/// FAQ entry (question, other phrasings, answer).
#[derive(Clone, Debug)]
pub struct KbDoc {
    pub workspace_id: WorkspaceId,
    /// `article` or `faq`.
    pub kind: &'static str,
    pub id: uuid::Uuid,
    pub group_id: GroupId,
    pub lang: String,
    pub title: String,
    pub text: String,
    /// Readable in the help center, not only by agents.
    pub public: bool,
    /// The article's URL name (empty for FAQ entries).
    pub slug: String,
}

impl Engine {
    /// The text readers see of an article: its published version, if any.
    pub async fn feed_article(
        &self,
        ws: WorkspaceId,
        id: ArticleId,
    ) -> Result<Option<KbDoc>, EngineError> {
        let mut c = self.store.read().await?;
        let Some(a) = store::kb::article(&mut c.conn(), ws, id).await? else {
            return Ok(None);
        };
        let Some(live) = a.published_version else {
            return Ok(None);
        };
        let Some(v) = store::kb::version(&mut c.conn(), ws, id, live).await? else {
            return Ok(None);
        };
        Ok(Some(KbDoc {
            workspace_id: ws,
            kind: "article",
            id: a.id.0,
            group_id: a.group_id,
            lang: a.lang,
            title: v.title,
            text: crate::markdown::to_text(&v.body),
            public: a.visibility == domain::kb::Visibility::Public,
            slug: a.slug,
        }))
    }

    pub async fn feed_faq(&self, ws: WorkspaceId, id: FaqId) -> Result<Option<KbDoc>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::kb::faq(&mut c.conn(), ws, id).await?.map(|f| KbDoc {
            workspace_id: ws,
            kind: "faq",
            id: f.id.0,
            group_id: f.group_id,
            lang: f.lang,
            title: f.question,
            text: format!("{}\n{}", f.phrasings.join("\n"), f.answer),
            public: true,
            slug: String::new(),
        }))
    }

    /// Every workspace's events after `after`, in commit order.
    pub async fn feed_events(
        &self,
        after: Cursor,
        limit: i64,
    ) -> Result<Vec<EventRecord>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(events::all_after(&mut c.conn(), after, limit).await?)
    }

    /// How many events were written after `after` (for progress).
    pub async fn feed_backlog(&self, after: Cursor) -> Result<i64, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::consumers::behind(&mut c.conn(), after).await?)
    }

    pub async fn feed_ticket(
        &self,
        ws: WorkspaceId,
        id: TicketId,
    ) -> Result<Option<TicketDoc>, EngineError> {
        let mut c = self.store.read().await?;
        let Some(t) = tickets::get(&mut c.conn(), ws, id).await? else {
            return Ok(None);
        };
        let customer = match customers::get(&mut c.conn(), ws, t.customer_id).await? {
            Some(cu) => {
                let mut s = cu.name.clone();
                for i in &cu.identities {
                    s.push(' ');
                    s.push_str(&i.value);
                }
                s
            }
            None => String::new(),
        };
        let texts = tickets::message_texts(&mut c.conn(), ws, t.id, MAX_TEXT_BYTES).await?;
        Ok(Some(TicketDoc {
            workspace_id: ws,
            id: t.id,
            number: t.number,
            subject: t.subject,
            customer,
            customer_id: t.customer_id,
            texts,
        }))
    }

    /// The tickets of a customer (whose name or identities changed), newest first.
    pub async fn feed_customer_tickets(
        &self,
        ws: WorkspaceId,
        customer: CustomerId,
    ) -> Result<Vec<TicketId>, EngineError> {
        let mut c = self.store.read().await?;
        let f = tickets::Filter {
            customer: Some(customer),
            ..Default::default()
        };
        Ok(tickets::list(&mut c.conn(), ws, &f, None, 10_000)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect())
    }

    /// Knowledge-base search for agents (internal articles included).
    pub async fn kb_search(
        &self,
        p: &crate::Principal,
        q: &str,
        lang: Option<String>,
        limit: usize,
    ) -> Result<Vec<KbHit>, EngineError> {
        if q.chars().count() > 200 {
            return Err(EngineError::invalid("q", message::max_chars(200)));
        }
        let Some(search) = self.search.clone() else {
            return Ok(Vec::new());
        };
        let (ws, q) = (p.workspace_id, domain::text::clean_line(q));
        self.cpu
            .run(move || search.kb(ws, &q, lang.as_deref(), false, limit))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))
    }

    /// `f` with its text turned into the tickets the index found, when an index
    /// is installed.
    pub(crate) async fn resolve_text(
        &self,
        ws: WorkspaceId,
        f: &tickets::Filter,
    ) -> Result<Option<tickets::Filter>, EngineError> {
        let (Some(search), Some(text)) = (self.search.clone(), f.text.clone()) else {
            return Ok(None);
        };
        let ids = self
            .cpu
            .run(move || search.tickets(ws, &text, MAX_MATCHES))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))?;
        Ok(Some(tickets::Filter {
            text: None,
            ids: Some(ids),
            ..f.clone()
        }))
    }
}
