//! The node-local index: one document per ticket (subject, customer, every
//! message's text), BM25-ranked, with the position in the event log it reflects
//! stored in the same commit, so that it survives kill -9 and catches up.

use crate::analysis::{
    ANALYZER, GRAMS, GramTokenizer, Script, analyzer, is_stopword, query_terms, script_of,
    thai_grams,
};
use domain::ids::*;
use engine::model::Cursor;
use engine::search::{KbDoc, KbHit, TicketDoc};
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: the writer lock was poisoned")]
    Poisoned,
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
}

/// Changed whenever the schema or the analysis changes: an index of another
/// version is rebuilt from the event log.
const VERSION: &str = "3";

struct Fields {
    key: Field,
    ws: Field,
    ticket: Field,
    title: Field,
    body: Field,
    customer: Field,
    /// `ticket`, `article` or `faq`.
    kind: Field,
    /// A knowledge-base document's id, group, language, audience and URL name.
    id: Field,
    group: Field,
    lang: Field,
    public: Field,
    slug: Field,
    /// A knowledge-base document's title and text, stored for snippets.
    kb_title: Field,
    kb_text: Field,
    /// Thai character pairs of title and text, for misspelt Thai queries.
    kb_grams: Field,
}

/// The index. Its writer exists only while a batch is being written: it holds
/// the directory's lock and tens of megabytes, neither of which an idle index
/// needs.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    f: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let stored = text.clone().set_stored();
    let f = Fields {
        key: b.add_text_field("key", STRING),
        ws: b.add_text_field("ws", STRING),
        ticket: b.add_text_field("ticket", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        customer: b.add_text_field("customer", text),
        kind: b.add_text_field("kind", STRING | STORED),
        id: b.add_text_field("id", STRING | STORED),
        group: b.add_text_field("group", STRING | STORED),
        lang: b.add_text_field("lang", STRING | STORED),
        public: b.add_text_field("public", STRING),
        slug: b.add_text_field("slug", STORED),
        kb_title: b.add_text_field("kb_title", stored.clone()),
        kb_text: b.add_text_field("kb_text", stored),
        kb_grams: b.add_text_field(
            "kb_grams",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(GRAMS)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
    };
    (b.build(), f)
}

/// A word that carries little meaning counts this much of one that does.
const STOPWORD_WEIGHT: f32 = 0.1;
/// A one-typo match counts this much of an exact one (tantivy scores it as a
/// constant, not by BM25, so the weight is higher than for tickets).
const KB_FUZZY: f32 = 1.0;
/// A query of at most this many words is short: one typo is tolerated in its
/// words of four letters as well.
const SHORT_QUERY_WORDS: usize = 2;
/// Each matching Thai character pair of the query.
const GRAM_WEIGHT: f32 = 0.3;
/// Most character pairs a query contributes.
const MAX_QUERY_GRAMS: usize = 48;

/// The writer's memory budget: tantivy's minimum is 15 MB per thread.
const WRITER_BYTES: usize = 20_000_000;

impl SearchIndex {
    /// Opens the index in `dir`, or makes a new, empty one there (also when the
    /// one found was made by another version: it is derived data).
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let current = dir.join(VERSION);
        if dir.is_dir() {
            for e in std::fs::read_dir(dir)?.flatten() {
                if e.file_name() != VERSION {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        std::fs::create_dir_all(&current)?;
        let (schema, f) = schema();
        let d = tantivy::directory::MmapDirectory::open(&current)?;
        let index = Index::open_or_create(d, schema)?;
        SearchIndex::with(index, f)
    }

    /// An index in memory (tests).
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, f) = schema();
        SearchIndex::with(Index::create_in_ram(schema), f)
    }

    fn with(index: Index, f: Fields) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(ANALYZER, analyzer());
        index.tokenizers().register(
            GRAMS,
            tantivy::tokenizer::TextAnalyzer::builder(GramTokenizer).build(),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(None),
            f,
        })
    }

    /// The event-log position the last commit reflects.
    pub fn position(&self) -> Cursor {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| {
                let (tx, id) = p.split_once('.')?;
                Some(Cursor {
                    tx: tx.parse().ok()?,
                    id: id.parse().ok()?,
                })
            })
            .unwrap_or_default()
    }

    fn key(id: TicketId) -> String {
        format!("t:{id}")
    }

    /// Runs `f` with the writer, opening it when this batch has none yet.
    fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, SearchError>,
    ) -> Result<T, SearchError> {
        let mut slot = self.writer.lock().map_err(|_| SearchError::Poisoned)?;
        let w = match slot.as_mut() {
            Some(w) => w,
            None => slot.insert(self.index.writer_with_num_threads(1, WRITER_BYTES)?),
        };
        f(w)
    }

    /// Replaces (or adds) the ticket's document; `None` removes it.
    pub fn put_ticket(&self, id: TicketId, doc: Option<&TicketDoc>) -> Result<(), SearchError> {
        self.with_writer(|w| self.write_ticket(w, id, doc))
    }

    fn write_ticket(
        &self,
        w: &mut IndexWriter,
        id: TicketId,
        doc: Option<&TicketDoc>,
    ) -> Result<(), SearchError> {
        w.delete_term(Term::from_field_text(self.f.key, &Self::key(id)));
        if let Some(t) = doc {
            let mut d = TantivyDocument::default();
            d.add_text(self.f.key, Self::key(id));
            d.add_text(self.f.kind, "ticket");
            d.add_text(self.f.ws, t.workspace_id.to_string());
            d.add_text(self.f.ticket, id.to_string());
            d.add_text(self.f.title, &t.subject);
            d.add_text(self.f.customer, format!("{} {}", t.number, t.customer));
            for text in &t.texts {
                d.add_text(self.f.body, text);
            }
            w.add_document(d)?;
        }
        Ok(())
    }

    /// Replaces (or adds) a knowledge-base document; `None` removes it (an
    /// article without a published version).
    pub fn put_kb(
        &self,
        kind: &str,
        id: uuid::Uuid,
        doc: Option<&KbDoc>,
    ) -> Result<(), SearchError> {
        self.with_writer(|w| {
            let key = format!("{kind}:{id}");
            w.delete_term(Term::from_field_text(self.f.key, &key));
            if let Some(k) = doc {
                let mut d = TantivyDocument::default();
                d.add_text(self.f.key, &key);
                d.add_text(self.f.kind, k.kind);
                d.add_text(self.f.ws, k.workspace_id.to_string());
                d.add_text(self.f.id, k.id.to_string());
                d.add_text(self.f.group, k.group_id.to_string());
                d.add_text(self.f.lang, &k.lang);
                d.add_text(self.f.public, if k.public { "1" } else { "0" });
                d.add_text(self.f.slug, &k.slug);
                d.add_text(self.f.kb_title, &k.title);
                d.add_text(self.f.kb_text, &k.text);
                d.add_text(self.f.kb_grams, &k.title);
                d.add_text(self.f.kb_grams, &k.text);
                w.add_document(d)?;
            }
            Ok(())
        })
    }

    /// Knowledge-base documents of `ws` for `q`, best first: any word may match
    /// (a question is phrased in many ways), titles count double, and a
    /// document in `lang` ranks above its translations.
    pub fn kb(
        &self,
        ws: WorkspaceId,
        q: &str,
        lang: Option<&str>,
        public_only: bool,
        limit: usize,
    ) -> Result<Vec<KbHit>, SearchError> {
        let terms = query_terms(q);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let exact = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        // In a short query every word carries the meaning, so a typo in a
        // four-letter word is tolerated too; in a longer one it would match
        // too many other words.
        let min_fuzzy = if terms.len() <= SHORT_QUERY_WORDS {
            4
        } else {
            5
        };
        let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            let weight = if is_stopword(t) { STOPWORD_WEIGHT } else { 1.0 };
            words.extend(word_matches(
                t,
                &[(self.f.kb_title, 2.0 * weight), (self.f.kb_text, weight)],
                KB_FUZZY,
                min_fuzzy,
            ));
        }
        let mut grams = thai_grams(q);
        grams.sort_unstable();
        grams.dedup();
        for g in grams.into_iter().take(MAX_QUERY_GRAMS) {
            words.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.f.kb_grams, &g),
                        IndexRecordOption::WithFreqs,
                    )),
                    GRAM_WEIGHT,
                )),
            ));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, exact(self.f.ws, &ws.to_string())),
            (Occur::Must, Box::new(BooleanQuery::new(words))),
            (
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact(self.f.kind, "article")),
                    (Occur::Should, exact(self.f.kind, "faq")),
                ])),
            ),
        ];
        if public_only {
            clauses.push((Occur::Must, exact(self.f.public, "1")));
        }
        if let Some(l) = lang {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(exact(self.f.lang, l), 1.5)),
            ));
        }
        if terms.len() > 1 {
            let phrase = PhraseQuery::new(
                terms
                    .iter()
                    .map(|t| Term::from_field_text(self.f.kb_text, t))
                    .collect(),
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(phrase), 2.0)),
            ));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit.clamp(1, 100)).order_by_score(),
        )?;
        let mut snippets =
            tantivy::snippet::SnippetGenerator::create(&searcher, &query, self.f.kb_text)?;
        snippets.set_max_num_chars(200);
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |f: Field| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut snippet = snippets.snippet_from_doc(&doc);
            snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
            let html = snippet.to_html();
            out.push(KbHit {
                kind: text(self.f.kind),
                id: text(self.f.id),
                group_id: text(self.f.group),
                lang: text(self.f.lang),
                title: text(self.f.kb_title),
                // No word of the query in the text (a title match): its start.
                snippet: if html.is_empty() {
                    escape(&text(self.f.kb_text).chars().take(200).collect::<String>())
                } else {
                    html
                },
                score,
                slug: text(self.f.slug),
            });
        }
        Ok(out)
    }

    /// Makes what was put since the last commit durable and visible, together
    /// with the log position it brings the index to.
    pub fn commit(&self, position: Cursor) -> Result<(), SearchError> {
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&format!("{}.{}", position.tx, position.id));
            prepared.commit()?;
            Ok(())
        })?;
        self.close_writer()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Rewrites every segment that holds deleted documents without them, so
    /// that no file keeps their text or terms (tantivy only marks a deletion
    /// until a merge takes the segment). Costs a rewrite of those segments:
    /// run after an erasure, not after every change.
    pub fn purge_deleted(&self) -> Result<(), SearchError> {
        let ids: Vec<tantivy::index::SegmentId> = self
            .index
            .searchable_segment_metas()?
            .into_iter()
            .filter(|m| m.has_deletes())
            .map(|m| m.id())
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.with_writer(|w| {
            w.merge(&ids).wait()?;
            // The merged-away files go now, not at some later commit.
            w.garbage_collect_files().wait()?;
            Ok(())
        })?;
        self.close_writer()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Whether any segment's term dictionary (deleted documents' terms
    /// included) holds a word of `text` as tickets index it: what a purge
    /// must leave behind for an erased customer.
    pub fn holds_term(&self, text: &str) -> Result<bool, SearchError> {
        let searcher = self.reader.searcher();
        for t in query_terms(text) {
            for segment in searcher.segment_readers() {
                for field in [self.f.title, self.f.body, self.f.customer] {
                    if segment
                        .inverted_index(field)?
                        .terms()
                        .get(t.as_bytes())?
                        .is_some()
                    {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Lets the writer go (and with it the directory's lock), after its merges.
    fn close_writer(&self) -> Result<(), SearchError> {
        let w = self
            .writer
            .lock()
            .map_err(|_| SearchError::Poisoned)?
            .take();
        if let Some(w) = w {
            w.wait_merging_threads()?;
        }
        Ok(())
    }

    /// Empties the index (a rebuild replays the log from its start).
    pub fn clear(&self) -> Result<(), SearchError> {
        self.with_writer(|w| {
            w.delete_all_documents()?;
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload("0.0");
            prepared.commit()?;
            Ok(())
        })?;
        self.close_writer()?;
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents are searchable.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The query for `q`: every word must match somewhere in the ticket (its
    /// subject, customer or messages), exactly or, for longer words, with one
    /// typo; the subject counts double and the words in order count extra.
    /// Tickets of `ws` sharing words with `text`, most alike first: any word
    /// may match (a search needs them all), so a whole message finds its
    /// kin.
    pub fn similar_tickets(
        &self,
        ws: WorkspaceId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<TicketId>, SearchError> {
        let mut terms = query_terms(text);
        terms.truncate(40);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            for (field, boost) in [(self.f.title, 2.0), (self.f.body, 1.0)] {
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, t),
                            IndexRecordOption::WithFreqs,
                        )),
                        boost,
                    )),
                ));
            }
        }
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.ws, &ws.to_string()),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.kind, "ticket"),
                    IndexRecordOption::Basic,
                )),
            ),
            (Occur::Must, Box::new(BooleanQuery::new(any))),
        ]);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc
                .get_first(self.f.ticket)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
            {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn ticket_query(&self, ws: WorkspaceId, q: &str) -> Option<Box<dyn Query>> {
        let terms = query_terms(q);
        if terms.is_empty() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.ws, &ws.to_string()),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(self.f.kind, "ticket"),
                    IndexRecordOption::Basic,
                )),
            ),
        ];
        for t in &terms {
            let alternatives = word_matches(
                t,
                &[
                    (self.f.title, 2.0),
                    (self.f.body, 1.0),
                    (self.f.customer, 1.0),
                ],
                0.5,
                if terms.len() <= SHORT_QUERY_WORDS {
                    4
                } else {
                    5
                },
            );
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(alternatives))));
        }
        if terms.len() > 1 {
            for field in [self.f.title, self.f.body] {
                let phrase = PhraseQuery::new(
                    terms
                        .iter()
                        .map(|t| Term::from_field_text(field, t))
                        .collect(),
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(phrase), 2.0)),
                ));
            }
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// The tickets of `ws` matching `q`, best first.
    pub fn tickets(
        &self,
        ws: WorkspaceId,
        q: &str,
        limit: usize,
    ) -> Result<Vec<TicketId>, SearchError> {
        let Some(query) = self.ticket_query(ws, q) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc
                .get_first(self.f.ticket)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse().ok())
            {
                out.push(id);
            }
        }
        Ok(out)
    }
}

/// The ways one query word may match: exactly in each of `fields` (with its
/// boost) or, for a long word outside Thai, with one edit (`fuzzy` of the boost).
/// Thai words come whole from a dictionary: an edit makes another word.
fn word_matches(
    t: &str,
    fields: &[(Field, f32)],
    fuzzy: f32,
    min_fuzzy: usize,
) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for &(field, boost) in fields {
        let term = Term::from_field_text(field, t);
        out.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                boost,
            )),
        ));
        // Numbers (orders, tickets, phones) match exactly; Thai words come whole
        // from a dictionary, so an edit makes another word.
        let fuzzy_ok = matches!(script_of(t), Script::Latin | Script::Cyrillic)
            && !t.chars().any(|c| c.is_ascii_digit());
        if t.chars().count() >= min_fuzzy && fuzzy_ok {
            out.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new(term, 1, true)),
                    boost * fuzzy,
                )),
            ));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl engine::search::TextSearch for SearchIndex {
    fn tickets(&self, ws: WorkspaceId, q: &str, limit: usize) -> Result<Vec<TicketId>, String> {
        SearchIndex::tickets(self, ws, q, limit).map_err(|e| e.to_string())
    }
    fn similar_tickets(
        &self,
        ws: WorkspaceId,
        text: &str,
        limit: usize,
    ) -> Result<Vec<TicketId>, String> {
        SearchIndex::similar_tickets(self, ws, text, limit).map_err(|e| e.to_string())
    }
    fn kb(
        &self,
        ws: WorkspaceId,
        q: &str,
        lang: Option<&str>,
        public_only: bool,
        limit: usize,
    ) -> Result<Vec<KbHit>, String> {
        SearchIndex::kb(self, ws, q, lang, public_only, limit).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(ws: WorkspaceId, id: TicketId, text: &str) -> TicketDoc {
        TicketDoc {
            workspace_id: ws,
            id,
            number: 1,
            subject: text.to_owned(),
            customer: String::new(),
            customer_id: CustomerId::new(),
            texts: vec![text.to_owned()],
        }
    }

    #[test]
    fn a_purge_leaves_no_term_of_deleted_tickets_in_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path()).unwrap();
        let ws = WorkspaceId::new();
        let (keep, gone) = (TicketId::new(), TicketId::new());
        index
            .put_ticket(keep, Some(&doc(ws, keep, "an ordinary parcel question")))
            .unwrap();
        index
            .put_ticket(gone, Some(&doc(ws, gone, "zanzibarquixotic secret")))
            .unwrap();
        index.commit(Cursor { tx: 1, id: 1 }).unwrap();
        assert_eq!(index.tickets(ws, "zanzibarquixotic", 10).unwrap(), [gone]);
        assert!(index.holds_term("zanzibarquixotic").unwrap());

        index.put_ticket(gone, None).unwrap();
        index.commit(Cursor { tx: 2, id: 2 }).unwrap();
        assert!(
            index
                .tickets(ws, "zanzibarquixotic", 10)
                .unwrap()
                .is_empty()
        );
        assert!(
            index.holds_term("zanzibarquixotic").unwrap(),
            "a deletion alone leaves the terms in the segment"
        );

        index.purge_deleted().unwrap();
        assert!(!index.holds_term("zanzibarquixotic").unwrap(), "purged");
        assert!(index.holds_term("parcel").unwrap());
        assert_eq!(index.tickets(ws, "parcel", 10).unwrap(), [keep]);
        assert_eq!(index.position(), Cursor { tx: 2, id: 2 });
        // Nothing left to purge: a second purge changes nothing.
        index.purge_deleted().unwrap();
        assert_eq!(index.len(), 1);
        // Reopened from its files, the index holds the same.
        drop(index);
        let index = SearchIndex::open(dir.path()).unwrap();
        assert!(!index.holds_term("zanzibarquixotic").unwrap());
        assert_eq!(index.tickets(ws, "parcel", 10).unwrap(), [keep]);
    }
}
