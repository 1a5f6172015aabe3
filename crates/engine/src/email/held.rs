//! Mail held for want of a sender to answer: listed for admins, who make a
//! ticket of it (naming the customer) or discard it. Nothing accepted from a
//! sending server disappears into a log.

use crate::{Engine, EngineError, Principal};
use domain::ids::*;
use store::StoreError;
use store::channels::{self, Held};

/// Most held messages one listing returns.
pub const MAX_LISTED: i64 = 500;

impl Engine {
    /// A mailbox's held messages, oldest first (admins only).
    pub async fn held_messages(
        &self,
        p: &Principal,
        mailbox: MailboxId,
    ) -> Result<Vec<Held>, EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        // An id of another workspace, or of another kind of account, is unknown.
        channels::get(&mut c.conn(), p.workspace_id, mailbox)
            .await?
            .filter(|a| a.kind == domain::ticket::Channel::Email)
            .ok_or(EngineError::NotFound)?;
        Ok(channels::list_held(&mut c.conn(), p.workspace_id, mailbox, MAX_LISTED).await?)
    }

    /// One held message with its original bytes (admins only).
    pub async fn held_message(
        &self,
        p: &Principal,
        mailbox: MailboxId,
        id: HeldId,
    ) -> Result<(Held, Vec<u8>), EngineError> {
        p.require_admin()?;
        let h = {
            let mut c = self.store.read().await?;
            channels::held(&mut c.conn(), p.workspace_id, mailbox, id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        let raw = self
            .store
            .blobs()
            .get(&h.raw_sha256)
            .await
            .map_err(StoreError::from)?;
        Ok((h, raw))
    }

    /// Throws a held message away (admins only); the original stays in the blob
    /// store like every other.
    pub async fn discard_held(
        &self,
        p: &Principal,
        mailbox: MailboxId,
        id: HeldId,
    ) -> Result<(), EngineError> {
        p.require_admin()?;
        let ws = p.workspace_id;
        {
            let mut c = self.store.read().await?;
            channels::held(&mut c.conn(), ws, mailbox, id)
                .await?
                .ok_or(EngineError::NotFound)?;
        }
        let gone = self
            .store
            .write(move |tx| Box::pin(async move { channels::delete_held(tx, ws, id).await }))
            .await?;
        if gone {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }
}
