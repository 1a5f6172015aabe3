//! Files a messenger names on an inbound message but hands over only on
//! request (Telegram's `getFile`, later WhatsApp's media endpoint). The
//! message goes in at once; `Job::FetchFiles`, queued in the same write,
//! fetches the files through the message's account and attaches them
//! (`message.files_added`). Attaching is idempotent: a message that has its
//! files already is left alone, so a job run twice attaches nothing twice.

use crate::ingest::{InboundAttachment, RemoteFile};
use crate::messenger::RemoteError;
use crate::outbound::Delivery;
use crate::{Engine, EngineError};
use domain::event::{Actor, EventData};
use domain::ids::*;
use domain::ticket::{Channel, Visibility};
use futures::future::BoxFuture;
use store::StoreError;
use store::tickets::{self, Attachment};

/// What one attempt at fetching came to.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub files: Vec<InboundAttachment>,
    /// Files given up, each with the reason.
    pub missing: Vec<String>,
    /// A passing failure: try the whole set again (the reason, and how long
    /// the remote side asked to wait).
    pub retry: Option<(String, Option<u64>)>,
}

/// Attempts at fetching a message's files before the missing ones are given up.
const FILE_ATTEMPTS: i64 = 4;

/// Fetches each file a message names (as many as a message takes) with
/// `download`, at most `max` bytes each. `refuse` names a file not to fetch
/// and why. A passing failure asks for the whole set again while attempts
/// remain; a final one, or one after the last attempt, is named as missing.
pub(crate) async fn fetch_each<'a>(
    files: &'a [RemoteFile],
    (per_message, max): (usize, usize),
    attempts: i64,
    refuse: impl Fn(&RemoteFile) -> Option<String>,
    download: impl Fn(&'a RemoteFile) -> BoxFuture<'a, Result<bytes::Bytes, RemoteError>>,
) -> Fetched {
    let mut out = Fetched::default();
    for f in files.iter().take(per_message) {
        if let Some(why) = refuse(f) {
            out.missing.push(format!("{} ({why})", f.filename));
            continue;
        }
        if f.size.is_some_and(|s| s as usize > max) {
            out.missing
                .push(format!("{} (larger than {} MB)", f.filename, max >> 20));
            continue;
        }
        match download(f).await {
            Ok(bytes) if bytes.len() > max => {
                out.missing
                    .push(format!("{} (larger than {} MB)", f.filename, max >> 20))
            }
            Ok(bytes) => out.files.push(InboundAttachment {
                filename: f.filename.clone(),
                content_type: f.content_type.clone(),
                content_id: None,
                inline: false,
                bytes,
            }),
            Err(e) if !e.permanent && attempts + 1 < FILE_ATTEMPTS => {
                out.retry = Some((e.description, e.retry_after));
                return out;
            }
            Err(e) => out.missing.push(format!("{} ({e})", f.filename)),
        }
    }
    out
}

impl Engine {
    pub(crate) async fn fetch_files(
        &self,
        ws: WorkspaceId,
        account_id: AccountId,
        (ticket_id, message_id): (TicketId, MessageId),
        files: &[RemoteFile],
        attempts: i64,
    ) -> Result<Delivery, EngineError> {
        let (account, message) = {
            let mut c = self.store.read().await?;
            (
                store::channels::get(&mut c.conn(), ws, account_id).await?,
                tickets::message(&mut c.conn(), ws, message_id).await?,
            )
        };
        let Some(message) = message.filter(|m| m.attachments.is_empty()) else {
            // Gone, or its files are in already.
            return Ok(Delivery::Sent);
        };
        let fetched = match account {
            Some(a) if a.kind == Channel::Telegram => {
                self.fetch_telegram_files(a, files, attempts).await?
            }
            Some(a) if a.kind == Channel::Whatsapp => {
                self.fetch_whatsapp_files(a, files, attempts).await?
            }
            Some(a) if a.kind == Channel::Vk => self.fetch_vk_files(a, files, attempts).await?,
            Some(a) => Fetched {
                missing: vec![format!("no way to fetch files from the {} channel", a.kind)],
                ..Fetched::default()
            },
            None => Fetched {
                missing: files
                    .iter()
                    .map(|f| format!("{} (the channel no longer exists)", f.filename))
                    .collect(),
                ..Fetched::default()
            },
        };
        if let Some((why, after)) = fetched.retry {
            return Ok(match after {
                Some(s) => Delivery::RetryAfter(crate::messenger::remote(why), s),
                None => Delivery::Retry(crate::messenger::remote(why)),
            });
        }
        let blobs = self.store.blobs();
        let shas =
            futures::future::try_join_all(fetched.files.iter().map(|f| blobs.put(f.bytes.clone())))
                .await
                .map_err(StoreError::from)?;
        let now = self.store.now();
        let rows: Vec<Attachment> = fetched
            .files
            .iter()
            .zip(shas)
            .map(|(f, sha256)| Attachment {
                id: AttachmentId::new(),
                workspace_id: ws,
                message_id: Some(message.id),
                sha256,
                filename: f.filename.clone(),
                content_type: f.content_type.clone(),
                size: f.bytes.len() as i64,
                uploaded_by: None,
                created_at: now,
            })
            .collect();
        let missing = fetched.missing;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    // Another run attached them meanwhile: nothing to do.
                    let current = tickets::message(&mut tx.conn(), ws, message_id).await?;
                    if current.is_none_or(|m| !m.attachments.is_empty()) {
                        return Ok(());
                    }
                    for a in &rows {
                        tickets::insert_attachment(tx, a).await?;
                    }
                    tx.emit(
                        ws,
                        Actor::System,
                        EventData::FilesAdded {
                            ticket_id,
                            message_id,
                            attachments: rows.len(),
                            missing: missing.clone(),
                        },
                    )
                    .await?;
                    if !missing.is_empty()
                        && let Some(t) = tickets::get(&mut tx.conn(), ws, ticket_id).await?
                    {
                        let text = format!(
                            "Files of the customer's message could not be fetched: {}",
                            missing.join("; ")
                        );
                        crate::rules::post(tx, &t, Visibility::Internal, text, Actor::System)
                            .await?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(Delivery::Sent)
    }
}
