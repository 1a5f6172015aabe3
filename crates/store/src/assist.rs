//! What the answer bot reads: its settings, and the workspace's FAQ entries and
//! published public articles it answers from (with a stamp that changes when
//! any of them does, so a node knows its model is stale).

use crate::{Conn, FromRow, Row, StoreError, Tx, query};
use domain::assist::{AssistSettings, Providers};
use domain::ids::*;

/// Most FAQ entries, and most articles, one model learns from (its training
/// time grows with answers times sentences).
pub const MAX_ANSWERS: i64 = 1_000;

pub async fn settings(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<AssistSettings, StoreError> {
    crate::settings::read(c, crate::settings::Table::Assist, ws).await
}

pub async fn put_settings(
    tx: &mut Tx,
    ws: WorkspaceId,
    s: &AssistSettings,
) -> Result<(), StoreError> {
    crate::settings::write(tx, crate::settings::Table::Assist, ws, s).await
}

/// A workspace's model providers and their sealed keys.
pub async fn providers(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<(Providers, Option<Vec<u8>>), StoreError> {
    let row: Option<(String, Option<Vec<u8>>)> = c
        .fetch_optional(
            &query("SELECT settings, secrets FROM assist_providers WHERE workspace_id = $1")
                .bind(ws),
        )
        .await?;
    match row {
        Some((s, secrets)) => Ok((
            serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            secrets,
        )),
        None => Ok((Providers::default(), None)),
    }
}

pub async fn put_providers(
    tx: &mut Tx,
    ws: WorkspaceId,
    p: &Providers,
    secrets: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    let now = tx.now();
    let raw = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let q = query(
        "INSERT INTO assist_providers (workspace_id, settings, secrets, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET \
         settings = excluded.settings, secrets = excluded.secrets, updated_at = excluded.updated_at",
    )
    .bind(ws)
    .bind(raw)
    .bind(secrets)
    .bind(now);
    tx.conn().execute(&q).await.map(|_| ())
}

/// A stamp of everything the bot learns from: it changes whenever an FAQ
/// entry or an article is added, changed or removed.
pub async fn stamp(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<String, StoreError> {
    let (faqs, faq_at): (i64, Option<i64>) = c
        .fetch_one(
            &query("SELECT COUNT(*), MAX(updated_at) FROM kb_faq WHERE workspace_id = $1").bind(ws),
        )
        .await?;
    let (arts, art_at): (i64, Option<i64>) = c
        .fetch_one(
            &query("SELECT COUNT(*), MAX(updated_at) FROM kb_articles WHERE workspace_id = $1")
                .bind(ws),
        )
        .await?;
    Ok(format!(
        "{faqs}:{}:{arts}:{}",
        faq_at.unwrap_or(0),
        art_at.unwrap_or(0)
    ))
}

/// An FAQ entry as the bot learns it.
#[derive(Clone, Debug)]
pub struct FaqText {
    pub id: FaqId,
    pub group_id: GroupId,
    pub lang: String,
    pub question: String,
    pub phrasings: Vec<String>,
    pub answer: String,
    pub article_id: Option<ArticleId>,
}

/// A published public article as readers see it.
#[derive(Clone, Debug)]
pub struct ArticleText {
    pub id: ArticleId,
    pub group_id: GroupId,
    pub lang: String,
    pub slug: String,
    pub title: String,
    pub body: String,
}

impl FromRow for FaqText {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(FaqText {
            id: r.id(0)?,
            group_id: r.id(1)?,
            lang: r.get(2)?,
            question: r.get(3)?,
            phrasings: r.json(4)?,
            answer: r.get(5)?,
            article_id: r.id_opt(6)?,
        })
    }
}

impl FromRow for ArticleText {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ArticleText {
            id: r.id(0)?,
            group_id: r.id(1)?,
            lang: r.get(2)?,
            slug: r.get(3)?,
            title: r.get(4)?,
            body: r.get(5)?,
        })
    }
}

pub async fn faq_texts(c: &mut Conn<'_>, ws: WorkspaceId) -> Result<Vec<FaqText>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT id, group_id, lang, question, phrasings, answer, article_id FROM kb_faq \
             WHERE workspace_id = $1 ORDER BY id LIMIT $2",
        )
        .bind(ws)
        .bind(MAX_ANSWERS),
    )
    .await
}

/// Published public articles, with the published version's title and text.
pub async fn article_texts(
    c: &mut Conn<'_>,
    ws: WorkspaceId,
) -> Result<Vec<ArticleText>, StoreError> {
    c.fetch_all(
        &query(
            "SELECT a.id, a.group_id, a.lang, a.slug, v.title, v.body FROM kb_articles a \
             JOIN kb_article_versions v ON v.article_id = a.id AND v.version = a.published_version \
             WHERE a.workspace_id = $1 AND a.visibility = 'public' AND a.published_version IS NOT NULL \
             ORDER BY a.id LIMIT $2",
        )
        .bind(ws)
        .bind(MAX_ANSWERS),
    )
    .await
}
