//! Suggested replies for an agent on a ticket: solutions marked on similar
//! tickets, the replies that closed similar solved tickets, and the knowledge
//! base's FAQ answers and articles — each with what to insert and where it
//! came from. Similarity is the search index's (BM25 over the tickets' and
//! articles' words); with no index installed there is nothing to suggest.

use crate::tickets::TicketRef;
use crate::{Engine, EngineError, Principal};
use domain::ids::*;
use domain::message;
use domain::ticket::AuthorKind;
use store::{swarm, tickets};

/// Most suggestions one request returns.
pub const MAX_SUGGESTIONS: usize = 20;
/// Longest text a suggestion carries (characters); agents edit what they insert.
const MAX_TEXT: usize = 4_000;
/// How much of each message the similarity query reads.
const QUERY_CHARS: usize = 600;
/// Similar tickets looked at for replies and solutions.
const SIMILAR: usize = 30;

/// Where a suggestion comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SuggestionKind {
    /// A note or reply marked as the solution of a similar ticket.
    Solution,
    /// The last reply on a similar ticket that was solved.
    Reply,
    Faq,
    Article,
}

impl SuggestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionKind::Solution => "solution",
            SuggestionKind::Reply => "reply",
            SuggestionKind::Faq => "faq",
            SuggestionKind::Article => "article",
        }
    }
}

/// One suggested reply.
#[derive(Clone, Debug)]
pub struct ReplySuggestion {
    pub kind: SuggestionKind,
    /// The ticket's subject, the FAQ question or the article's title.
    pub title: String,
    /// What to insert into the reply (plain text).
    pub text: String,
    /// The ticket a solution or reply comes from: id, number, and the message.
    pub ticket: Option<(TicketId, i64, MessageId)>,
    /// The FAQ entry's or article's id.
    pub kb_id: Option<String>,
    /// A public article's help-center path.
    pub path: Option<String>,
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", s[..i].trim_end()),
        None => s.to_owned(),
    }
}

impl Engine {
    /// Up to `limit` suggested replies for ticket `r`, the kinds taken in turn
    /// (a marked solution, a knowledge-base answer, a past reply, …) so the
    /// first few show each source; best first within each kind.
    pub async fn ticket_suggestions(
        &self,
        p: &Principal,
        r: TicketRef,
        limit: usize,
    ) -> Result<Vec<ReplySuggestion>, EngineError> {
        p.require_ticket_work()?;
        if !(1..=MAX_SUGGESTIONS).contains(&limit) {
            return Err(EngineError::invalid(
                "limit",
                message::range(1, MAX_SUGGESTIONS),
            ));
        }
        let t = self.load_ticket(p, r).await?;
        let (query, lang) = self.suggestion_query(p, &t).await?;
        let (solutions, replies) = self.similar_tickets_answers(p, &t, &query, limit).await?;
        let knowledge: Vec<ReplySuggestion> = self
            .kb_suggest(p, &query, lang, limit)
            .await?
            .into_iter()
            .map(|s| ReplySuggestion {
                kind: if s.kind == "faq" {
                    SuggestionKind::Faq
                } else {
                    SuggestionKind::Article
                },
                title: s.title,
                text: cut(&s.text, MAX_TEXT),
                ticket: None,
                kb_id: Some(s.id),
                path: s.path,
            })
            .collect();
        let mut lists = [
            solutions.into_iter(),
            knowledge.into_iter(),
            replies.into_iter(),
        ];
        let mut out = Vec::with_capacity(limit);
        while out.len() < limit {
            let before = out.len();
            for l in &mut lists {
                if out.len() < limit
                    && let Some(s) = l.next()
                {
                    out.push(s);
                }
            }
            if out.len() == before {
                break;
            }
        }
        Ok(out)
    }

    /// Solutions marked on tickets like `t`, then the replies that solved
    /// others, at most `limit` in all (the agent's panel of past answers).
    pub async fn past_answers(
        &self,
        p: &Principal,
        t: &tickets::Ticket,
        limit: usize,
    ) -> Result<Vec<ReplySuggestion>, EngineError> {
        p.require_ticket_work()?;
        let (query, _) = self.suggestion_query(p, t).await?;
        let (mut solutions, replies) = self.similar_tickets_answers(p, t, &query, limit).await?;
        solutions.extend(replies);
        solutions.truncate(limit);
        Ok(solutions)
    }

    /// What a ticket is about, for finding its likes: the subject, the
    /// customer's first message and their latest (each cut short); and the
    /// language to answer in (the customer's, else the workspace's).
    async fn suggestion_query(
        &self,
        p: &Principal,
        t: &tickets::Ticket,
    ) -> Result<(String, Option<String>), EngineError> {
        let ws = p.workspace_id;
        let mut c = self.store.read().await?;
        let first = tickets::messages(&mut c.conn(), ws, t.id, None, 20)
            .await?
            .into_iter()
            .find(|m| m.author_kind == AuthorKind::Customer);
        let last = tickets::last_from_customer(&mut c.conn(), ws, t.id, t.customer_id).await?;
        let mut q = t.subject.clone();
        let latest = last.filter(|l| first.as_ref().is_none_or(|f| f.id != l.id));
        for m in first.iter().chain(latest.iter()) {
            q.push(' ');
            q.push_str(&m.body_text.chars().take(QUERY_CHARS).collect::<String>());
        }
        let lang = match store::customers::get(&mut c.conn(), ws, t.customer_id).await? {
            Some(cu) if cu.language.is_some() => cu.language,
            _ => store::workspaces::by_id(&mut c.conn(), ws)
                .await?
                .map(|w| w.default_language),
        };
        Ok((q, lang))
    }

    /// Solutions marked on the tickets most like `query` (other than `t`),
    /// and the last replies on those of them that were solved — a ticket
    /// whose solution is offered is not offered twice; at most `limit` each.
    async fn similar_tickets_answers(
        &self,
        p: &Principal,
        t: &tickets::Ticket,
        query: &str,
        limit: usize,
    ) -> Result<(Vec<ReplySuggestion>, Vec<ReplySuggestion>), EngineError> {
        let Some(search) = self.search.clone() else {
            return Ok((Vec::new(), Vec::new()));
        };
        let ws = p.workspace_id;
        let text = domain::text::clean_line(query);
        let similar = self
            .cpu
            .run(move || search.similar_tickets(ws, &text, SIMILAR))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))?;
        let others: Vec<TicketId> = similar.into_iter().filter(|x| *x != t.id).collect();
        let (solutions, replies) = {
            let mut c = self.store.read().await?;
            (
                swarm::solutions_on(&mut c.conn(), ws, &others).await?,
                swarm::last_replies_on(&mut c.conn(), ws, &others).await?,
            )
        };
        let from_ticket = |kind, s: swarm::Solution| ReplySuggestion {
            kind,
            title: s.subject,
            text: cut(&s.text, MAX_TEXT),
            ticket: Some((s.ticket_id, s.number, s.message_id)),
            kb_id: None,
            path: None,
        };
        let solutions: Vec<ReplySuggestion> = solutions
            .into_iter()
            .take(limit)
            .map(|s| from_ticket(SuggestionKind::Solution, s))
            .collect();
        let replies: Vec<ReplySuggestion> = replies
            .into_iter()
            .filter(|r| {
                !solutions
                    .iter()
                    .any(|s| s.ticket.map(|x| x.0) == Some(r.ticket_id))
            })
            .take(limit)
            .map(|s| from_ticket(SuggestionKind::Reply, s))
            .collect();
        Ok((solutions, replies))
    }
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn long_texts_are_cut_on_a_character() {
        assert_eq!(cut("привет", 10), "привет");
        assert_eq!(cut("привет мир", 7), "привет…");
    }
}
