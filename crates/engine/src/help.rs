//! What the public help center may read: a workspace's sections and the
//! published text of its public articles, by anyone, without signing in.
//! Drafts, internal articles and unpublished edits never leave through here.

use crate::{Engine, EngineError};
use domain::Code;
use domain::Message;
use domain::ids::*;
use domain::kb::{ArticleStatus, Visibility};
use domain::message;
use store::kb::{self, ArticleFilter, Category};

pub use crate::search::KbHit;

/// A published, public article as readers see it.
#[derive(Clone, Debug)]
pub struct HelpArticle {
    pub id: ArticleId,
    pub group_id: GroupId,
    pub lang: String,
    pub slug: String,
    pub category_id: Option<CategoryId>,
    pub title: String,
    /// Markdown of the published version.
    pub body: String,
    pub updated_at: domain::Timestamp,
}

/// Most articles a help center lists in one language.
pub const MAX_LISTED: i64 = 1000;

impl Engine {
    /// The sections of a help center, in their order.
    pub async fn help_sections(&self, ws: WorkspaceId) -> Result<Vec<Category>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(kb::categories(&mut c.conn(), ws).await?)
    }

    /// Titles of the public, published articles in `lang` (bodies left empty).
    pub async fn help_articles(
        &self,
        ws: WorkspaceId,
        lang: &str,
    ) -> Result<Vec<HelpArticle>, EngineError> {
        let mut c = self.store.read().await?;
        let f = ArticleFilter {
            lang: Some(lang.to_owned()),
            status: None,
            category: None,
        };
        let all = kb::articles(&mut c.conn(), ws, &f, None, MAX_LISTED).await?;
        let mut out = Vec::with_capacity(all.len());
        for a in all {
            if a.visibility != Visibility::Public {
                continue;
            }
            // The list shows the title readers see: the published version's,
            // which is the current one unless a draft was saved since.
            let title = match a.published_version {
                None => continue,
                Some(v) if v == a.version && a.status == ArticleStatus::Published => a.title,
                Some(v) => match kb::version(&mut c.conn(), ws, a.id, v).await? {
                    Some(v) => v.title,
                    None => continue,
                },
            };
            out.push(HelpArticle {
                id: a.id,
                group_id: a.group_id,
                lang: a.lang,
                slug: a.slug,
                category_id: a.category_id,
                title,
                body: String::new(),
                updated_at: a.updated_at,
            });
        }
        Ok(out)
    }

    /// One public article's published text, and its other published languages.
    pub async fn help_article(
        &self,
        ws: WorkspaceId,
        id: ArticleId,
    ) -> Result<(HelpArticle, Vec<HelpArticle>), EngineError> {
        let mut c = self.store.read().await?;
        let a = kb::article(&mut c.conn(), ws, id)
            .await?
            .filter(|a| a.visibility == Visibility::Public)
            .ok_or(EngineError::NotFound)?;
        let live = a.published_version.ok_or(EngineError::NotFound)?;
        let v = kb::version(&mut c.conn(), ws, id, live)
            .await?
            .ok_or(EngineError::NotFound)?;
        let mut translations = Vec::new();
        for t in kb::group_articles(&mut c.conn(), ws, a.group_id).await? {
            if t.id != a.id && t.visibility == Visibility::Public && t.published_version.is_some() {
                translations.push(HelpArticle {
                    id: t.id,
                    group_id: t.group_id,
                    lang: t.lang,
                    slug: t.slug,
                    category_id: t.category_id,
                    title: t.title,
                    body: String::new(),
                    updated_at: t.updated_at,
                });
            }
        }
        Ok((
            HelpArticle {
                id: a.id,
                group_id: a.group_id,
                lang: a.lang,
                slug: a.slug,
                category_id: a.category_id,
                title: v.title,
                body: v.body,
                updated_at: v.created_at,
            },
            translations,
        ))
    }

    /// The addresses readers may write to: the workspace's active mailboxes.
    pub async fn help_contacts(&self, ws: WorkspaceId) -> Result<Vec<String>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(
            store::channels::list(&mut c.conn(), ws, domain::ticket::Channel::Email)
                .await?
                .into_iter()
                .filter(|a| a.active)
                .map(|a| a.address)
                .take(3)
                .collect(),
        )
    }

    /// The widget key of the workspace's first active chat channel, offered on
    /// its help center.
    pub async fn help_chat(&self, ws: WorkspaceId) -> Result<Option<String>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(
            store::channels::list(&mut c.conn(), ws, domain::ticket::Channel::Chat)
                .await?
                .into_iter()
                .find(|a| a.active)
                .map(|a| a.address),
        )
    }

    /// Help-center search: public articles and FAQ entries only.
    pub async fn help_search(
        &self,
        ws: WorkspaceId,
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
        let q = domain::text::clean_line(q);
        self.cpu
            .run(move || search.kb(ws, &q, lang.as_deref(), true, limit))
            .await?
            .map_err(|e| EngineError::Internal(format!("search: {e}")))
    }
}

/// Largest image or file an article may carry.
pub const MAX_MEDIA_BYTES: usize = 5 * 1024 * 1024;

/// The kind of file `bytes` are, by their first bytes: the types a help center
/// serves (no SVG: it can carry script).
pub fn media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

pub use store::kb::{HelpSettings, Media as KbMedia};

impl Engine {
    /// Stores an image or a PDF for articles (or the logo). Its type is read
    /// from its bytes, whatever the upload claimed.
    pub async fn upload_kb_media(
        &self,
        p: &crate::Principal,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Result<KbMedia, EngineError> {
        crate::kb::require_editor(p)?;
        if bytes.len() > MAX_MEDIA_BYTES {
            return Err(EngineError::TooLarge(
                Message::new(Code::MediaTooLarge).with("max_media_bytes", MAX_MEDIA_BYTES),
            ));
        }
        let content_type =
            media_type(&bytes).ok_or_else(|| EngineError::invalid("file", Code::MediaType))?;
        let filename = crate::tickets::sanitize_filename(filename);
        let size = bytes.len() as i64;
        let sha256 = self
            .store
            .blobs()
            .put(bytes.into())
            .await
            .map_err(store::StoreError::from)?;
        let m = KbMedia {
            id: uuid::Uuid::now_v7(),
            workspace_id: p.workspace_id,
            sha256,
            filename,
            content_type: content_type.to_owned(),
            size,
            uploaded_by: Some(p.user_id),
            created_at: self.now(),
        };
        let m2 = m.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::kb::insert_media(tx, &m2).await?;
                    Ok::<(), EngineError>(())
                })
            })
            .await?;
        Ok(m)
    }

    /// An article's image or file, for anyone (its address is unguessable and
    /// it is meant to be shown on public pages).
    pub async fn help_media(
        &self,
        ws: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<(KbMedia, Vec<u8>), EngineError> {
        let m = {
            let mut c = self.store.read().await?;
            store::kb::media(&mut c.conn(), ws, id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        let bytes = self
            .store
            .blobs()
            .get(&m.sha256)
            .await
            .map_err(store::StoreError::from)?;
        Ok((m, bytes))
    }

    pub async fn help_settings(&self, ws: WorkspaceId) -> Result<HelpSettings, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::kb::help_settings(&mut c.conn(), ws).await?)
    }

    /// Sets the help center's accent colour (`#rrggbb`), logo (an image
    /// uploaded with [`Engine::upload_kb_media`]; `None` clears either) and the
    /// languages it is published in (see [`domain::kb::validate_languages`]).
    pub async fn save_help_settings(
        &self,
        p: &crate::Principal,
        s: HelpSettings,
    ) -> Result<HelpSettings, EngineError> {
        crate::kb::require_editor(p)?;
        let HelpSettings {
            color,
            logo_id,
            languages,
        } = s;
        let languages = domain::kb::validate_languages(&languages)?;
        // Counted as the API's schema counts (characters, spaces around included).
        if color.as_ref().is_some_and(|c| c.chars().count() > 40) {
            return Err(EngineError::invalid("color", Code::Color));
        }
        let color = color.map(|c| c.trim().to_ascii_lowercase());
        if let Some(c) = &color {
            let ok =
                c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(EngineError::invalid("color", Code::Color));
            }
        }
        let ws = p.workspace_id;
        if let Some(id) = logo_id {
            let mut c = self.store.read().await?;
            let m = store::kb::media(&mut c.conn(), ws, id)
                .await?
                .ok_or_else(|| EngineError::Unknown("logo".into(), message::no_such("image")))?;
            if !m.content_type.starts_with("image/") {
                return Err(EngineError::invalid("logo", Code::ImageNeeded));
            }
        }
        let s = HelpSettings {
            color,
            logo_id,
            languages,
        };
        let s2 = s.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let at = tx.now();
                    store::kb::save_help_settings(tx, ws, &s2, at).await?;
                    Ok::<(), EngineError>(())
                })
            })
            .await?;
        Ok(s)
    }
}
