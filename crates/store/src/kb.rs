//! The knowledge base's tables: categories, articles with their versions, FAQ
//! entries. Every query is scoped by workspace.

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::Timestamp;
use domain::ids::*;
use domain::kb::{ArticleStatus, Visibility};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub struct Category {
    pub id: CategoryId,
    pub workspace_id: WorkspaceId,
    pub key: String,
    pub parent_id: Option<CategoryId>,
    pub position: i64,
    /// Display names by language.
    pub names: BTreeMap<String, String>,
    pub created_at: Timestamp,
}

impl FromRow for Category {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Category {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            key: r.get(2)?,
            parent_id: r.id_opt(3)?,
            position: r.get(4)?,
            names: r.json(5)?,
            created_at: r.time(6)?,
        })
    }
}

const CAT_COLS: &str = "id, workspace_id, key, parent_id, position, names, created_at";

pub async fn insert_category(tx: &mut Tx, c: &Category) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO kb_categories ({CAT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(c.id)
    .bind(c.workspace_id)
    .bind(&c.key)
    .bind(c.parent_id)
    .bind(c.position)
    .bind(serde_json::to_string(&c.names).unwrap_or_else(|_| "{}".into()))
    .bind(c.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_category(tx: &mut Tx, c: &Category) -> Result<(), StoreError> {
    let q = query(
        "UPDATE kb_categories SET parent_id = $3, position = $4, names = $5 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind(c.workspace_id)
    .bind(c.id)
    .bind(c.parent_id)
    .bind(c.position)
    .bind(serde_json::to_string(&c.names).unwrap_or_else(|_| "{}".into()));
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn category_by_key(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    key: &str,
) -> Result<Option<Category>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {CAT_COLS} FROM kb_categories WHERE workspace_id = $1 AND key = $2"
        ))
        .bind(ws)
        .bind(key),
    )
    .await
}

/// The workspace's categories, in their order.
pub async fn categories(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<Category>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {CAT_COLS} FROM kb_categories WHERE workspace_id = $1 ORDER BY position, key LIMIT 1000"
        ))
        .bind(ws),
    )
    .await
}

#[derive(Clone, Debug, PartialEq)]
pub struct Article {
    pub id: ArticleId,
    pub workspace_id: WorkspaceId,
    pub group_id: GroupId,
    pub lang: String,
    pub category_id: Option<CategoryId>,
    pub slug: String,
    pub visibility: Visibility,
    pub status: ArticleStatus,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The newest version; every save makes one.
    pub version: i64,
    /// The version readers see, when one is published.
    pub published_version: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for Article {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Article {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            group_id: r.id(2)?,
            lang: r.get(3)?,
            category_id: r.id_opt(4)?,
            slug: r.get(5)?,
            visibility: r.parse(6, Visibility::parse)?,
            status: r.parse(7, ArticleStatus::parse)?,
            title: r.get(8)?,
            body: r.get(9)?,
            version: r.get(10)?,
            published_version: r.get(11)?,
            created_at: r.time(12)?,
            updated_at: r.time(13)?,
        })
    }
}

const ART_COLS: &str = "id, workspace_id, group_id, lang, category_id, slug, visibility, status, title, body, version, published_version, created_at, updated_at";

pub async fn insert_article(tx: &mut Tx, a: &Article) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO kb_articles ({ART_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(a.id)
    .bind(a.workspace_id)
    .bind(a.group_id)
    .bind(&a.lang)
    .bind(a.category_id)
    .bind(&a.slug)
    .bind(a.visibility.as_str())
    .bind(a.status.as_str())
    .bind(&a.title)
    .bind(&a.body)
    .bind(a.version)
    .bind(a.published_version)
    .bind(a.created_at)
    .bind(a.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_article(tx: &mut Tx, a: &Article) -> Result<(), StoreError> {
    let q = query(
        "UPDATE kb_articles SET category_id = $3, slug = $4, visibility = $5, status = $6, title = $7, \
         body = $8, version = $9, published_version = $10, updated_at = $11 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(a.workspace_id)
    .bind(a.id)
    .bind(a.category_id)
    .bind(&a.slug)
    .bind(a.visibility.as_str())
    .bind(a.status.as_str())
    .bind(&a.title)
    .bind(&a.body)
    .bind(a.version)
    .bind(a.published_version)
    .bind(a.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn article(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ArticleId,
) -> Result<Option<Article>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {ART_COLS} FROM kb_articles WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The translations of one article.
pub async fn group_articles(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    group: GroupId,
) -> Result<Vec<Article>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {ART_COLS} FROM kb_articles WHERE workspace_id = $1 AND group_id = $2 ORDER BY lang LIMIT 100"
        ))
        .bind(ws)
        .bind(group),
    )
    .await
}

/// Which articles a list shows; `None` means any.
#[derive(Clone, Debug, Default)]
pub struct ArticleFilter {
    pub lang: Option<String>,
    pub status: Option<ArticleStatus>,
    pub category: Option<CategoryId>,
}

/// A page of articles, newest first, older than `before`.
pub async fn articles(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    f: &ArticleFilter,
    before: Option<ArticleId>,
    limit: i64,
) -> Result<Vec<Article>, StoreError> {
    let q = query(format!(
        "SELECT {ART_COLS} FROM kb_articles WHERE workspace_id = $1 \
         AND ($2 IS NULL OR lang = $2) AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR category_id = $4) \
         AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6"
    ))
    .bind(ws)
    .bind(f.lang.clone())
    .bind(f.status.map(|s| s.as_str()))
    .bind(f.category)
    .bind(before)
    .bind(limit);
    c.fetch_all(&q).await
}

/// One saved state of an article.
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub article_id: ArticleId,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub author_id: Option<UserId>,
    pub created_at: Timestamp,
}

impl FromRow for Version {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Version {
            article_id: r.id(0)?,
            version: r.get(1)?,
            title: r.get(2)?,
            body: r.get(3)?,
            author_id: r.id_opt(4)?,
            created_at: r.time(5)?,
        })
    }
}

pub async fn insert_version(tx: &mut Tx, ws: WorkspaceId, v: &Version) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO kb_article_versions (article_id, workspace_id, version, title, body, author_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(v.article_id)
    .bind(ws)
    .bind(v.version)
    .bind(&v.title)
    .bind(&v.body)
    .bind(v.author_id)
    .bind(v.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// One version of an article.
pub async fn version(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ArticleId,
    version: i64,
) -> Result<Option<Version>, StoreError> {
    c.fetch_optional(
        &query(
            "SELECT article_id, version, title, body, author_id, created_at FROM kb_article_versions \
             WHERE workspace_id = $1 AND article_id = $2 AND version = $3",
        )
        .bind(ws)
        .bind(id)
        .bind(version),
    )
    .await
}

/// An article's versions, newest first.
pub async fn versions(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: ArticleId,
) -> Result<Vec<Version>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT article_id, version, title, body, author_id, created_at FROM kb_article_versions \
             WHERE workspace_id = $1 AND article_id = $2 ORDER BY version DESC LIMIT 1000",
        )
        .bind(ws)
        .bind(id),
    )
    .await
}

#[derive(Clone, Debug, PartialEq)]
pub struct Faq {
    pub id: FaqId,
    pub workspace_id: WorkspaceId,
    pub group_id: GroupId,
    pub lang: String,
    pub category_id: Option<CategoryId>,
    pub question: String,
    /// Other ways customers ask it.
    pub phrasings: Vec<String>,
    pub answer: String,
    pub article_id: Option<ArticleId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl FromRow for Faq {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Faq {
            id: r.id(0)?,
            workspace_id: r.id(1)?,
            group_id: r.id(2)?,
            lang: r.get(3)?,
            category_id: r.id_opt(4)?,
            question: r.get(5)?,
            phrasings: r.json(6)?,
            answer: r.get(7)?,
            article_id: r.id_opt(8)?,
            created_at: r.time(9)?,
            updated_at: r.time(10)?,
        })
    }
}

const FAQ_COLS: &str = "id, workspace_id, group_id, lang, category_id, question, phrasings, answer, article_id, created_at, updated_at";

pub async fn insert_faq(tx: &mut Tx, f: &Faq) -> Result<(), StoreError> {
    let q = query(format!(
        "INSERT INTO kb_faq ({FAQ_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(f.id)
    .bind(f.workspace_id)
    .bind(f.group_id)
    .bind(&f.lang)
    .bind(f.category_id)
    .bind(&f.question)
    .bind(serde_json::to_string(&f.phrasings).unwrap_or_else(|_| "[]".into()))
    .bind(&f.answer)
    .bind(f.article_id)
    .bind(f.created_at)
    .bind(f.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn update_faq(tx: &mut Tx, f: &Faq) -> Result<(), StoreError> {
    let q = query(
        "UPDATE kb_faq SET category_id = $3, question = $4, phrasings = $5, answer = $6, \
         article_id = $7, updated_at = $8 WHERE workspace_id = $1 AND id = $2",
    )
    .bind(f.workspace_id)
    .bind(f.id)
    .bind(f.category_id)
    .bind(&f.question)
    .bind(serde_json::to_string(&f.phrasings).unwrap_or_else(|_| "[]".into()))
    .bind(&f.answer)
    .bind(f.article_id)
    .bind(f.updated_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn faq(c: &mut Conn<'_>, ws: WorkspaceId, id: FaqId) -> Result<Option<Faq>, StoreError> {
    c.fetch_optional(
        &query(format!(
            "SELECT {FAQ_COLS} FROM kb_faq WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id),
    )
    .await
}

/// A page of FAQ entries, newest first, older than `before`.
pub async fn faqs(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    lang: Option<&str>,
    before: Option<FaqId>,
    limit: i64,
) -> Result<Vec<Faq>, StoreError> {
    c.fetch_all(
        &query(format!(
            "SELECT {FAQ_COLS} FROM kb_faq WHERE workspace_id = $1 AND ($2 IS NULL OR lang = $2) \
             AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(ws)
        .bind(lang)
        .bind(before)
        .bind(limit),
    )
    .await
}

/// Adds `n` views of an article on `day` (days since 1970-01-01, UTC).
pub async fn add_views(
    tx: &mut Tx,
    ws: WorkspaceId,
    article: ArticleId,
    day: i64,
    n: i64,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO kb_views (workspace_id, article_id, day, views) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, article_id, day) DO UPDATE SET views = kb_views.views + excluded.views",
    )
    .bind(ws)
    .bind(article)
    .bind(day)
    .bind(n);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Adds `n` searches for `query` on `day`, `empty` of which found nothing.
pub async fn add_searches(
    tx: &mut Tx,
    ws: WorkspaceId,
    day: i64,
    lang: &str,
    text: &str,
    n: i64,
    empty: i64,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO kb_searches (workspace_id, day, lang, query, searches, empty) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (workspace_id, day, lang, query) DO UPDATE SET \
         searches = kb_searches.searches + excluded.searches, empty = kb_searches.empty + excluded.empty",
    )
    .bind(ws)
    .bind(day)
    .bind(lang)
    .bind(text)
    .bind(n)
    .bind(empty);
    tx.conn().execute(&q).await.map(|_| ())
}

/// A reader's answer to "was this helpful?".
#[derive(Clone, Debug, PartialEq)]
pub struct Vote {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub article_id: ArticleId,
    pub helpful: bool,
    pub comment: Option<String>,
    pub created_at: Timestamp,
}

impl FromRow for Vote {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Vote {
            id: r.get(0)?,
            workspace_id: r.id(1)?,
            article_id: r.id(2)?,
            helpful: r.get(3)?,
            comment: r.get(4)?,
            created_at: r.time(5)?,
        })
    }
}

pub async fn insert_vote(tx: &mut Tx, v: &Vote) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO kb_votes (id, workspace_id, article_id, helpful, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(v.id)
    .bind(v.workspace_id)
    .bind(v.article_id)
    .bind(v.helpful)
    .bind(v.comment.clone())
    .bind(v.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

/// Views of one article over a period.
pub struct ViewCount(pub ArticleId, pub i64);

impl FromRow for ViewCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ViewCount(r.id(0)?, r.get(1)?))
    }
}

/// The most viewed articles on days `from..=to`, most first.
pub async fn top_viewed(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<ViewCount>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT article_id, CAST(SUM(views) AS BIGINT) AS n FROM kb_views \
             WHERE workspace_id = $1 AND day >= $2 AND day <= $3 \
             GROUP BY article_id ORDER BY n DESC, article_id LIMIT $4",
        )
        .bind(ws)
        .bind(from)
        .bind(to)
        .bind(limit),
    )
    .await
}

/// Helpful and unhelpful answers per article.
pub struct VoteCount {
    pub article_id: ArticleId,
    pub helpful: i64,
    pub unhelpful: i64,
}

impl FromRow for VoteCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(VoteCount {
            article_id: r.id(0)?,
            helpful: r.get(1)?,
            unhelpful: r.get(2)?,
        })
    }
}

/// Answers per article given in `from..to` (milliseconds).
pub async fn vote_counts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<VoteCount>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT article_id, \
             CAST(SUM(CASE WHEN helpful THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN helpful THEN 0 ELSE 1 END) AS BIGINT) \
             FROM kb_votes WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY article_id LIMIT 10000",
        )
        .bind(ws)
        .bind(from)
        .bind(to),
    )
    .await
}

/// The newest answers that came with a comment.
pub async fn recent_comments(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<Vote>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT id, workspace_id, article_id, helpful, comment, created_at FROM kb_votes \
             WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 AND comment IS NOT NULL \
             ORDER BY created_at DESC LIMIT $4",
        )
        .bind(ws)
        .bind(from)
        .bind(to)
        .bind(limit),
    )
    .await
}

/// A search and how often it was made (and found nothing) over a period.
pub struct SearchCount {
    pub lang: String,
    pub query: String,
    pub searches: i64,
    pub empty: i64,
}

impl FromRow for SearchCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(SearchCount {
            lang: r.get(0)?,
            query: r.get(1)?,
            searches: r.get(2)?,
            empty: r.get(3)?,
        })
    }
}

/// The most frequent searches on days `from..=to`, in `lang` if given; only
/// those that found nothing at least once when `empty_only`.
pub async fn top_searches(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    from: i64,
    to: i64,
    lang: Option<&str>,
    empty_only: bool,
    limit: i64,
) -> Result<Vec<SearchCount>, StoreError> {
    let order = if empty_only {
        "e DESC, n DESC"
    } else {
        "n DESC"
    };
    c.fetch_all(
        &query(format!(
            "SELECT lang, query, CAST(SUM(searches) AS BIGINT) AS n, CAST(SUM(empty) AS BIGINT) AS e \
             FROM kb_searches WHERE workspace_id = $1 AND day >= $2 AND day <= $3 \
             AND ($4 IS NULL OR lang = $4) \
             GROUP BY lang, query HAVING ($5 = 0 OR SUM(empty) > 0) \
             ORDER BY {order}, query LIMIT $6"
        ))
        .bind(ws)
        .bind(from)
        .bind(to)
        .bind(lang.map(str::to_owned))
        .bind(i64::from(empty_only))
        .bind(limit),
    )
    .await
}

/// An image or file of the knowledge base.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: Option<UserId>,
    pub created_at: Timestamp,
}

impl FromRow for Media {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Media {
            id: r.get(0)?,
            workspace_id: r.id(1)?,
            sha256: r.get(2)?,
            filename: r.get(3)?,
            content_type: r.get(4)?,
            size: r.get(5)?,
            uploaded_by: r.id_opt(6)?,
            created_at: r.time(7)?,
        })
    }
}

pub async fn insert_media(tx: &mut Tx, m: &Media) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO kb_media (id, workspace_id, sha256, filename, content_type, size, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(m.id)
    .bind(m.workspace_id)
    .bind(&m.sha256)
    .bind(&m.filename)
    .bind(&m.content_type)
    .bind(m.size)
    .bind(m.uploaded_by)
    .bind(m.created_at);
    tx.conn().execute(&q).await.map(|_| ())
}

pub async fn media(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
    id: uuid::Uuid,
) -> Result<Option<Media>, StoreError> {
    c.fetch_optional(
        &query(
            "SELECT id, workspace_id, sha256, filename, content_type, size, uploaded_by, created_at \
             FROM kb_media WHERE workspace_id = $1 AND id = $2",
        )
        .bind(ws)
        .bind(id),
    )
    .await
}

/// The help center's accent colour, logo and languages.
#[derive(Clone, Debug, PartialEq)]
pub struct HelpSettings {
    pub color: Option<String>,
    pub logo_id: Option<uuid::Uuid>,
    /// Never empty: the defaults when none were configured. The first is the
    /// fallback language.
    pub languages: Vec<String>,
}

impl Default for HelpSettings {
    fn default() -> Self {
        HelpSettings {
            color: None,
            logo_id: None,
            languages: domain::kb::DEFAULT_LANGUAGES
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
        }
    }
}

impl FromRow for HelpSettings {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let langs: String = r.get(2)?;
        let mut s = HelpSettings {
            color: r.get(0)?,
            logo_id: r.get(1)?,
            ..HelpSettings::default()
        };
        if !langs.trim().is_empty() {
            s.languages = langs.split_whitespace().map(str::to_owned).collect();
        }
        Ok(s)
    }
}

pub async fn help_settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<HelpSettings, StoreError> {
    Ok(c.fetch_optional(
        &query("SELECT color, logo_id, languages FROM help_settings WHERE workspace_id = $1")
            .bind(ws),
    )
    .await?
    .unwrap_or_default())
}

pub async fn save_help_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &HelpSettings,
    at: Timestamp,
) -> Result<(), StoreError> {
    let q = query(
        "INSERT INTO help_settings (workspace_id, color, logo_id, languages, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (workspace_id) DO UPDATE SET color = excluded.color, logo_id = excluded.logo_id, \
         languages = excluded.languages, updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(s.color.clone())
    .bind(s.logo_id)
    .bind(s.languages.join(" "))
    .bind(at);
    tx.conn().execute(&q).await.map(|_| ())
}
