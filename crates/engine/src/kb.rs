//! The knowledge base: articles (Markdown, every save a version, translations
//! sharing a group, drafts and a published version), FAQ entries, and the
//! categories they are filed under. Owners, admins and supervisors write it;
//! every agent reads it, internal articles included.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::event::EventData;
use domain::identity::normalize_language;
use domain::ids::*;
use domain::kb::{ArticleStatus, Visibility, slug, validate_category_key};
use domain::message;
use domain::user::Role;
use std::collections::BTreeMap;
use store::Tx;
use store::kb::{self, Article, Category, Faq, Version};

pub use store::kb::{
    Article as KbArticle, ArticleFilter, Category as KbCategory, Faq as KbFaq, Version as KbVersion,
};

/// A change to a FAQ entry; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct FaqPatch {
    pub question: Option<String>,
    pub phrasings: Option<Vec<String>>,
    pub answer: Option<String>,
    pub category: Option<Option<String>>,
    pub article_id: Option<Option<ArticleId>>,
}

/// An answer the composer offers for a ticket.
#[derive(Clone, Debug)]
pub struct Suggestion {
    /// `article` or `faq`.
    pub kind: &'static str,
    /// The article's or FAQ entry's id.
    pub id: String,
    pub title: String,
    /// HTML: the matching passage, matched words in `<mark>`.
    pub snippet: String,
    /// The text to insert: the FAQ answer or the article as plain text.
    pub text: String,
    /// The help-center path of a public article.
    pub path: Option<String>,
}

/// Longest article body or answer, in characters of Markdown.
pub const MAX_BODY_CHARS: usize = 50_000;

/// A new article, or a new language of an existing one (`group_id`).
#[derive(Clone, Debug)]
pub struct NewArticle {
    pub lang: String,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub status: ArticleStatus,
    pub visibility: Visibility,
    pub group_id: Option<GroupId>,
}

/// Changes to an article; each one that touches the text makes a new version.
#[derive(Clone, Debug, Default)]
pub struct ArticlePatch {
    pub title: Option<String>,
    pub body: Option<String>,
    pub category: Option<Option<String>>,
    pub status: Option<ArticleStatus>,
    pub visibility: Option<Visibility>,
}

/// A new FAQ entry, or a new language of one (`group_id`).
#[derive(Clone, Debug)]
pub struct NewFaq {
    pub lang: String,
    pub question: String,
    pub phrasings: Vec<String>,
    pub answer: String,
    pub category: Option<String>,
    pub article_id: Option<ArticleId>,
    pub group_id: Option<GroupId>,
}

pub(crate) fn require_editor(p: &Principal) -> Result<(), EngineError> {
    if matches!(p.role, Role::Owner | Role::Admin | Role::Supervisor) {
        Ok(())
    } else {
        Err(EngineError::Forbidden(Code::KbEditors.into()))
    }
}

fn title(raw: &str, field: &str, max: usize) -> Result<String, EngineError> {
    let t = domain::text::clean_line(raw);
    if t.is_empty() || t.chars().count() > max {
        return Err(EngineError::invalid(field, message::chars(1, max)));
    }
    Ok(t)
}

fn body(raw: &str, field: &str) -> Result<String, EngineError> {
    if raw.chars().count() > MAX_BODY_CHARS {
        return Err(EngineError::invalid(
            field,
            message::max_chars(MAX_BODY_CHARS),
        ));
    }
    Ok(domain::text::clean_body(raw))
}

fn faq_answer(raw: &str) -> Result<String, EngineError> {
    let answer = body(raw, "answer")?;
    if answer.trim().is_empty() {
        return Err(EngineError::invalid("answer", Code::NotEmpty));
    }
    Ok(answer)
}

fn faq_phrasings(all: &[String]) -> Result<Vec<String>, EngineError> {
    if all.len() > 50 {
        return Err(EngineError::invalid("phrasings", message::at_most(50)));
    }
    all.iter().map(|q| title(q, "phrasings", 300)).collect()
}

/// The category with `key`, made on first use (its name is its key until an
/// admin names it).
async fn category(
    tx: &mut Tx,
    ws: WorkspaceId,
    key: Option<&str>,
) -> Result<Option<CategoryId>, EngineError> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    validate_category_key(key)?;
    if let Some(c) = kb::category_by_key(&mut tx.conn(), ws, key).await? {
        return Ok(Some(c.id));
    }
    let c = Category {
        id: CategoryId::new(),
        workspace_id: ws,
        key: key.to_owned(),
        parent_id: None,
        position: 0,
        names: Default::default(),
        created_at: tx.now(),
    };
    kb::insert_category(tx, &c).await?;
    Ok(Some(c.id))
}

impl Engine {
    pub async fn create_article(
        &self,
        p: &Principal,
        n: NewArticle,
    ) -> Result<Article, EngineError> {
        require_editor(p)?;
        let lang = normalize_language(&n.lang)?;
        let title = title(&n.title, "title", 200)?;
        let text = body(&n.body, "body")?;
        let (ws, actor, user) = (p.workspace_id, p.actor(), p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let group_id = match n.group_id {
                        Some(g) => {
                            if kb::group_articles(&mut tx.conn(), ws, g).await?.is_empty() {
                                return Err(EngineError::Unknown(
                                    "group_id".into(),
                                    message::no_such("article_group"),
                                ));
                            }
                            g
                        }
                        None => GroupId::new(),
                    };
                    let now = tx.now();
                    let published = n.status == ArticleStatus::Published;
                    let a = Article {
                        id: ArticleId::new(),
                        workspace_id: ws,
                        group_id,
                        lang,
                        category_id: category(tx, ws, n.category.as_deref()).await?,
                        slug: slug(&title),
                        visibility: n.visibility,
                        status: n.status,
                        title,
                        body: text,
                        version: 1,
                        published_version: published.then_some(1),
                        created_at: now,
                        updated_at: now,
                    };
                    kb::insert_article(tx, &a).await?;
                    save_version(tx, &a, user).await?;
                    emit_saved(tx, &a, actor).await?;
                    Ok(a)
                })
            })
            .await
    }

    pub async fn update_article(
        &self,
        p: &Principal,
        id: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, EngineError> {
        require_editor(p)?;
        let new_title = patch
            .title
            .as_deref()
            .map(|t| title(t, "title", 200))
            .transpose()?;
        let new_body = patch.body.as_deref().map(|b| body(b, "body")).transpose()?;
        let (ws, actor, user) = (p.workspace_id, p.actor(), p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut a = kb::article(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let mut text_changed = false;
                    if let Some(t) = new_title.filter(|t| *t != a.title) {
                        a.slug = slug(&t);
                        a.title = t;
                        text_changed = true;
                    }
                    if let Some(b) = new_body.filter(|b| *b != a.body) {
                        a.body = b;
                        text_changed = true;
                    }
                    if let Some(c) = patch.category {
                        a.category_id = category(tx, ws, c.as_deref()).await?;
                    }
                    if let Some(v) = patch.visibility {
                        a.visibility = v;
                    }
                    if text_changed {
                        a.version += 1;
                        save_version(tx, &a, user).await?;
                    }
                    if let Some(s) = patch.status {
                        a.status = s;
                    }
                    // Published means the newest text is what readers see; a draft
                    // of a published article leaves the last published one out.
                    if a.status == ArticleStatus::Published {
                        a.published_version = Some(a.version);
                    }
                    a.updated_at = tx.now();
                    kb::update_article(tx, &a).await?;
                    emit_saved(tx, &a, actor).await?;
                    Ok(a)
                })
            })
            .await
    }

    /// Makes an earlier version the newest one again (as a new version).
    pub async fn restore_article_version(
        &self,
        p: &Principal,
        id: ArticleId,
        version: i64,
    ) -> Result<Article, EngineError> {
        let v = {
            let mut c = self.store.read().await?;
            kb::version(&mut c.conn(), p.workspace_id, id, version).await?
        }
        .ok_or_else(|| EngineError::Unknown("version".into(), message::no_such("version")))?;
        self.update_article(
            p,
            id,
            ArticlePatch {
                title: Some(v.title),
                body: Some(v.body),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn article(&self, p: &Principal, id: ArticleId) -> Result<Article, EngineError> {
        let mut c = self.store.read().await?;
        kb::article(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn articles(
        &self,
        p: &Principal,
        f: &ArticleFilter,
        before: Option<ArticleId>,
        limit: i64,
    ) -> Result<Vec<Article>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(kb::articles(
            &mut c.conn(),
            p.workspace_id,
            f,
            before,
            limit.clamp(1, 200),
        )
        .await?)
    }

    /// Articles and FAQ answers that may answer `text` (a ticket's subject and
    /// first message), for the composer: the published text to insert and,
    /// for public articles, the help-center path to link.
    pub async fn kb_suggest(
        &self,
        p: &Principal,
        text: &str,
        lang: Option<String>,
        limit: usize,
    ) -> Result<Vec<Suggestion>, EngineError> {
        let Some(search) = self.search.clone() else {
            return Ok(Vec::new());
        };
        // The first words say what the message is about; a long thread would
        // only make the query slower, not better.
        let q: String = domain::text::clean_line(text)
            .split_whitespace()
            .take(40)
            .collect::<Vec<_>>()
            .join(" ");
        let ws = p.workspace_id;
        let hits = self
            .cpu
            .run(move || search.kb(ws, &q, lang.as_deref(), false, limit))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))?;
        let ws_name = crate::Engine::workspace(self, p).await?.name;
        let mut out = Vec::new();
        for h in hits {
            let Ok(id) = h.id.parse::<uuid::Uuid>() else {
                continue;
            };
            let mut c = self.store.read().await?;
            if h.kind == "faq" {
                if let Some(f) = kb::faq(&mut c.conn(), ws, FaqId(id)).await? {
                    out.push(Suggestion {
                        kind: "faq",
                        id: f.id.to_string(),
                        title: f.question,
                        snippet: h.snippet,
                        text: f.answer,
                        path: None,
                    });
                }
                continue;
            }
            let Some(a) = kb::article(&mut c.conn(), ws, ArticleId(id)).await? else {
                continue;
            };
            let Some(live) = a.published_version else {
                continue;
            };
            let Some(v) = kb::version(&mut c.conn(), ws, a.id, live).await? else {
                continue;
            };
            let path = (a.visibility == Visibility::Public)
                .then(|| format!("/help/{ws_name}/{}/articles/{}-{}", a.lang, a.id, a.slug));
            out.push(Suggestion {
                kind: "article",
                id: a.id.to_string(),
                title: v.title,
                snippet: h.snippet,
                text: crate::markdown::to_text(&v.body),
                path,
            });
        }
        Ok(out)
    }

    /// Every language of an article (itself included), by language.
    pub async fn article_translations(
        &self,
        p: &Principal,
        id: ArticleId,
    ) -> Result<Vec<Article>, EngineError> {
        let a = self.article(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(kb::group_articles(&mut c.conn(), p.workspace_id, a.group_id).await?)
    }

    /// An article's versions, newest first.
    pub async fn article_versions(
        &self,
        p: &Principal,
        id: ArticleId,
    ) -> Result<Vec<Version>, EngineError> {
        self.article(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(kb::versions(&mut c.conn(), p.workspace_id, id).await?)
    }

    /// Names a category in the help center's languages and files it under
    /// `parent` (a section of a category); made when it does not exist yet.
    /// Nesting is at most three levels deep and never circular.
    pub async fn save_kb_category(
        &self,
        p: &Principal,
        key: &str,
        names: BTreeMap<String, String>,
        parent: Option<String>,
    ) -> Result<Category, EngineError> {
        require_editor(p)?;
        validate_category_key(key)?;
        if names.len() > 20 {
            return Err(EngineError::invalid("names", Code::AtMostTwentyLanguages));
        }
        let mut clean = BTreeMap::new();
        for (lang, name) in names {
            let lang = normalize_language(&lang)?;
            clean.insert(lang, title(&name, "names", 100)?);
        }
        let ws = p.workspace_id;
        let key = key.to_owned();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let parent_id = match parent.as_deref().map(str::trim).filter(|k| !k.is_empty())
                    {
                        None => None,
                        Some(pk) => {
                            // Walk up from the parent: the chain must end within
                            // the depth limit and never come back to `key`.
                            let mut depth = 1;
                            let mut at = kb::category_by_key(&mut tx.conn(), ws, pk)
                                .await?
                                .ok_or_else(|| {
                                    EngineError::Unknown(
                                        "parent".into(),
                                        message::no_such("category"),
                                    )
                                })?;
                            let first = at.id;
                            loop {
                                if at.key == key {
                                    return Err(EngineError::invalid(
                                        "parent",
                                        Code::KbCategoryInItself,
                                    ));
                                }
                                let Some(up) = at.parent_id else { break };
                                depth += 1;
                                if depth > 2 {
                                    return Err(EngineError::invalid(
                                        "parent",
                                        Code::KbCategoryDepth,
                                    ));
                                }
                                let all = kb::categories(&mut tx.conn(), ws).await?;
                                let Some(next) = all.into_iter().find(|c| c.id == up) else {
                                    break;
                                };
                                at = next;
                            }
                            Some(first)
                        }
                    };
                    let c = match kb::category_by_key(&mut tx.conn(), ws, &key).await? {
                        Some(mut c) => {
                            c.names = clean;
                            c.parent_id = parent_id;
                            kb::update_category(tx, &c).await?;
                            c
                        }
                        None => {
                            let position = kb::categories(&mut tx.conn(), ws).await?.len() as i64;
                            let c = Category {
                                id: CategoryId::new(),
                                workspace_id: ws,
                                key,
                                parent_id,
                                position,
                                names: clean,
                                created_at: tx.now(),
                            };
                            kb::insert_category(tx, &c).await?;
                            c
                        }
                    };
                    Ok(c)
                })
            })
            .await
    }

    /// The categories, for filing and for the help center's sections.
    pub async fn kb_categories(&self, p: &Principal) -> Result<Vec<Category>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(kb::categories(&mut c.conn(), p.workspace_id).await?)
    }

    /// Changes a FAQ entry; absent fields stay as they are.
    pub async fn update_faq(
        &self,
        p: &Principal,
        id: FaqId,
        patch: FaqPatch,
    ) -> Result<Faq, EngineError> {
        require_editor(p)?;
        let question = patch
            .question
            .as_deref()
            .map(|q| title(q, "question", 300))
            .transpose()?;
        let answer = patch.answer.as_deref().map(faq_answer).transpose()?;
        let phrasings = patch.phrasings.as_deref().map(faq_phrasings).transpose()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut f = kb::faq(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    if let Some(Some(a)) = patch.article_id
                        && kb::article(&mut tx.conn(), ws, a).await?.is_none()
                    {
                        return Err(EngineError::Unknown(
                            "article_id".into(),
                            message::no_such("article"),
                        ));
                    }
                    if let Some(q) = question {
                        f.question = q;
                    }
                    if let Some(a) = answer {
                        f.answer = a;
                    }
                    if let Some(ph) = phrasings {
                        f.phrasings = ph;
                    }
                    if let Some(c) = patch.category {
                        f.category_id = category(tx, ws, c.as_deref()).await?;
                    }
                    if let Some(a) = patch.article_id {
                        f.article_id = a;
                    }
                    f.updated_at = tx.now();
                    kb::update_faq(tx, &f).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::FaqSaved {
                            faq_id: f.id,
                            group_id: f.group_id,
                            lang: f.lang.clone(),
                        },
                    )
                    .await?;
                    Ok(f)
                })
            })
            .await
    }

    pub async fn create_faq(&self, p: &Principal, n: NewFaq) -> Result<Faq, EngineError> {
        require_editor(p)?;
        let lang = normalize_language(&n.lang)?;
        let question = title(&n.question, "question", 300)?;
        let answer = faq_answer(&n.answer)?;
        let phrasings = faq_phrasings(&n.phrasings)?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if let Some(a) = n.article_id
                        && kb::article(&mut tx.conn(), ws, a).await?.is_none()
                    {
                        return Err(EngineError::Unknown(
                            "article_id".into(),
                            message::no_such("article"),
                        ));
                    }
                    let group_id = n.group_id.unwrap_or_default();
                    let now = tx.now();
                    let f = Faq {
                        id: FaqId::new(),
                        workspace_id: ws,
                        group_id,
                        lang,
                        category_id: category(tx, ws, n.category.as_deref()).await?,
                        question,
                        phrasings,
                        answer,
                        article_id: n.article_id,
                        created_at: now,
                        updated_at: now,
                    };
                    kb::insert_faq(tx, &f).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::FaqSaved {
                            faq_id: f.id,
                            group_id: f.group_id,
                            lang: f.lang.clone(),
                        },
                    )
                    .await?;
                    Ok(f)
                })
            })
            .await
    }

    pub async fn faqs(
        &self,
        p: &Principal,
        lang: Option<&str>,
        before: Option<FaqId>,
        limit: i64,
    ) -> Result<Vec<Faq>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(kb::faqs(
            &mut c.conn(),
            p.workspace_id,
            lang,
            before,
            limit.clamp(1, 200),
        )
        .await?)
    }

    pub async fn faq(&self, p: &Principal, id: FaqId) -> Result<Faq, EngineError> {
        let mut c = self.store.read().await?;
        kb::faq(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }
}

async fn save_version(tx: &mut Tx, a: &Article, author: UserId) -> Result<(), EngineError> {
    let v = Version {
        article_id: a.id,
        version: a.version,
        title: a.title.clone(),
        body: a.body.clone(),
        author_id: Some(author),
        created_at: tx.now(),
    };
    Ok(kb::insert_version(tx, a.workspace_id, &v).await?)
}

async fn emit_saved(
    tx: &mut Tx,
    a: &Article,
    actor: domain::event::Actor,
) -> Result<(), EngineError> {
    tx.emit(
        a.workspace_id,
        actor,
        EventData::ArticleSaved {
            article_id: a.id,
            group_id: a.group_id,
            lang: a.lang.clone(),
            version: a.version,
            status: a.status,
        },
    )
    .await?;
    Ok(())
}
