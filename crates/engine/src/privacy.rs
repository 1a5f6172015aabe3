//! A customer's personal data on request: exported (the web layer streams it
//! through the ordinary read services, after [`Engine::export_customer`]
//! admits the request) and erased.
//!
//! Erasure blanks or removes, in one transaction, everything that says who
//! the customer is, how to reach them or what they wrote: the profile and
//! every profile merged into it, identities, chat visitors, ticket subjects
//! and fields, messages, attachments, raw mail, side conversations,
//! reminders' notes, bot conversations, triage labels, order numbers and
//! shipments, touchpoints' addresses and attributes, survey comments, link
//! attributions, merge suggestions, and the personal parts of the event log
//! (see `domain::event::EventData::erase_personal`). What is counted stays:
//! ticket states and times, order totals and items, touchpoint stages and
//! emotions, scores, clicks — on the emptied profile, which takes nothing new
//! (pushes naming it are refused as for an unknown customer; mail from the
//! same address makes a new profile). The erasure itself is recorded as a
//! `customer.erased` event holding counts only.
//!
//! After the commit: stored bytes no row uses any more are removed; queued
//! and finished jobs and remembered API responses that name the customer are
//! deleted; held mail that mentions one of their addresses goes, with its
//! bytes; the search index re-reads the tickets (the `customer.erased` event)
//! and purges deleted documents from its files.

use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::event::EventData;
use domain::ids::*;
use std::collections::{BTreeSet, HashSet};
use std::time::Duration;
use store::StoreError;
pub use store::privacy::Erased;

/// Rows read per step while sweeping jobs, remembered responses and held mail.
const SWEEP_PAGE: i64 = 1000;
/// Most held messages whose bytes one erasure reads (the newest mail is held
/// for days, not years; past this the rest are left and logged).
const MAX_HELD_READ: usize = 10_000;

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub customer_id: CustomerId,
    pub erased_at: domain::Timestamp,
    /// Profiles erased: the customer and those merged into them.
    pub profiles: u64,
    pub erased: Erased,
    /// Stored files removed (raw mail, attachments).
    pub blobs_removed: u64,
    pub jobs_removed: u64,
    pub held_removed: u64,
}

impl Engine {
    /// Admits an export of customer `id`'s data (admins only): the profile
    /// to export, the one a merged-away id became.
    pub async fn export_customer(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> Result<store::customers::Customer, EngineError> {
        p.require_admin()?;
        let c = self.customer(p, id).await?;
        match c.merged_into {
            Some(into) => self.customer(p, into).await,
            None => Ok(c),
        }
    }

    /// The customer's surveys and chat visitors, for an export (admins only).
    pub async fn customer_privacy_extras(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> Result<(Vec<store::surveys::Survey>, Vec<store::chat::Visitor>), EngineError> {
        p.require_admin()?;
        let mut c = self.store.read().await?;
        let surveys =
            store::surveys::of_customer(&mut c.conn(), p.workspace_id, id, MAX_EXPORTED).await?;
        let visitors =
            store::chat::visitors_of_customer(&mut c.conn(), p.workspace_id, id, MAX_EXPORTED)
                .await?;
        Ok((surveys, visitors))
    }

    /// Erases customer `id`'s personal data (admins only); see the module.
    /// A merged-away id erases the profile it became, with every profile
    /// merged into that. A second erasure of the same customer is refused.
    pub async fn erase_customer(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> Result<Erasure, EngineError> {
        p.require_admin()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        let (target, profiles, erased, at) = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let c = store::customers::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let target = c.merged_into.unwrap_or(c.id);
                    let survivor = if target == c.id {
                        c
                    } else {
                        store::customers::get(&mut tx.conn(), ws, target)
                            .await?
                            .ok_or(EngineError::NotFound)?
                    };
                    if survivor.erased_at.is_some() {
                        return Err(EngineError::Rule(Code::CustomerErased.into()));
                    }
                    let mut profiles = vec![target];
                    profiles
                        .extend(store::customers::merged_into(&mut tx.conn(), ws, target).await?);
                    let now = tx.now();
                    let mut all = Erased::default();
                    for &profile in &profiles {
                        all.add(store::privacy::erase(tx, ws, profile, now).await?);
                    }
                    // The summary named what the touchpoints no longer do.
                    crate::journey::rebuild_summary(tx, ws, target).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::CustomerErased {
                            customer_id: target,
                            profiles: profiles.len() as u64,
                            tickets: all.tickets,
                            messages: all.messages,
                            attachments: all.attachments,
                            orders: all.orders,
                            touchpoints: all.touchpoints,
                            events: all.events,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>((target, profiles.len() as u64, all, now))
                })
            })
            .await?;
        // A node's cached links may still name the customer; forget them here
        // (other nodes within the cache's minute; a click on an erased
        // profile lands on no one, see `journey`).
        self.forget_cached_links();
        let needles = Needles::new(&erased.needles);
        let jobs_removed = self.sweep_jobs(ws, &needles).await?;
        self.sweep_responses(ws, &needles).await?;
        let (held_removed, held_blobs) = self.sweep_held(ws, &needles).await?;
        let mut blobs_removed = 0;
        let shas: BTreeSet<String> = erased.blobs.iter().cloned().chain(held_blobs).collect();
        for sha in shas {
            // No grace: the bytes are theirs, wanted gone now.
            if self.remove_unused_blob(&sha, Duration::ZERO).await? {
                blobs_removed += 1;
            }
        }
        if !self.store.forget_old_versions().await?
            && self.store.dialect() == store::Dialect::Sqlite
        {
            tracing::warn!(
                "the write-ahead log could not be cut back after an erasure; it will be at the next checkpoint"
            );
        }
        tracing::info!(
            workspace = %ws,
            customer = %target,
            profiles,
            tickets = erased.tickets,
            messages = erased.messages,
            events = erased.events,
            blobs_removed,
            jobs_removed,
            held_removed,
            "customer's personal data erased"
        );
        Ok(Erasure {
            customer_id: target,
            erased_at: at,
            profiles,
            erased,
            blobs_removed,
            jobs_removed,
            held_removed,
        })
    }

    /// Deletes jobs (queued, failed or done) whose payload names the erased
    /// customer; how many.
    async fn sweep_jobs(&self, ws: WorkspaceId, needles: &Needles) -> Result<u64, EngineError> {
        let mut after = 0;
        let mut removed = 0;
        loop {
            let page = {
                let mut c = self.store.read().await?;
                store::privacy::jobs_page(&mut c.conn(), ws, after, SWEEP_PAGE).await?
            };
            let full = page.len() as i64 == SWEEP_PAGE;
            after = page.last().map_or(after, |(id, _)| *id);
            let hit: Vec<i64> = page
                .into_iter()
                .filter(|(_, payload)| needles.found_in(payload))
                .map(|(id, _)| id)
                .collect();
            if !hit.is_empty() {
                removed += self
                    .store
                    .write(move |tx| {
                        Box::pin(async move { store::privacy::delete_jobs(tx, &hit).await })
                    })
                    .await?;
            }
            if !full {
                return Ok(removed);
            }
        }
    }

    /// Forgets remembered API responses that name the erased customer.
    async fn sweep_responses(&self, ws: WorkspaceId, needles: &Needles) -> Result<(), EngineError> {
        let mut after = String::new();
        loop {
            let page = {
                let mut c = self.store.read().await?;
                store::privacy::responses_page(&mut c.conn(), ws, &after, SWEEP_PAGE).await?
            };
            let full = page.len() as i64 == SWEEP_PAGE;
            if let Some((key, _)) = page.last() {
                after = key.clone();
            }
            let hit: Vec<String> = page
                .into_iter()
                .filter(|(_, body)| needles.found_in(body))
                .map(|(key, _)| key)
                .collect();
            if !hit.is_empty() {
                self.store
                    .write(move |tx| {
                        Box::pin(
                            async move { store::privacy::delete_responses(tx, ws, &hit).await },
                        )
                    })
                    .await?;
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Deletes held mail whose bytes mention one of the erased addresses;
    /// how many, and their bytes' hashes.
    async fn sweep_held(
        &self,
        ws: WorkspaceId,
        needles: &Needles,
    ) -> Result<(u64, Vec<String>), EngineError> {
        if needles.addresses.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut after = None;
        let (mut read, mut removed, mut shas) = (0usize, 0u64, Vec::new());
        loop {
            let page = {
                let mut c = self.store.read().await?;
                store::channels::held_page(&mut c.conn(), ws, after, SWEEP_PAGE).await?
            };
            let full = page.len() as i64 == SWEEP_PAGE;
            after = page.last().map(|h| h.id).or(after);
            for h in page {
                if read == MAX_HELD_READ {
                    tracing::warn!(workspace = %ws, "erasure read {MAX_HELD_READ} held messages; the rest were not searched");
                    return Ok((removed, shas));
                }
                read += 1;
                let raw = match self.store.blobs().get(&h.raw_sha256).await {
                    Ok(raw) => raw,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(e) => return Err(StoreError::from(e).into()),
                };
                if !needles.address_in(&raw) && !needles.address_in(h.subject.as_bytes()) {
                    continue;
                }
                let id = h.id;
                if self
                    .store
                    .write(move |tx| {
                        Box::pin(async move { store::channels::delete_held(tx, ws, id).await })
                    })
                    .await?
                {
                    removed += 1;
                    shas.push(h.raw_sha256);
                }
            }
            if !full {
                return Ok((removed, shas));
            }
        }
    }
}

/// Most surveys and chat visitors an export lists.
pub const MAX_EXPORTED: i64 = 10_000;

/// What marks a row as the erased customer's: ids (found as whole JSON
/// strings) and addresses (found anywhere, ignoring case).
struct Needles {
    ids: HashSet<String>,
    addresses: Vec<String>,
}

impl Needles {
    fn new(all: &[String]) -> Needles {
        let mut ids = HashSet::new();
        let mut addresses = Vec::new();
        for n in all {
            if uuid::Uuid::parse_str(n).is_ok() {
                ids.insert(n.clone());
            } else if n.chars().count() >= 3 {
                addresses.push(n.to_lowercase());
            }
        }
        Needles { ids, addresses }
    }

    /// Whether a JSON document (a job's payload, a response) names one.
    fn found_in(&self, text: &str) -> bool {
        let named = serde_json::from_str::<serde_json::Value>(text)
            .map(|v| self.names(&v))
            .unwrap_or(false);
        named || self.address_in(text.as_bytes())
    }

    fn names(&self, v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => self.ids.contains(s),
            serde_json::Value::Array(a) => a.iter().any(|x| self.names(x)),
            serde_json::Value::Object(o) => o.values().any(|x| self.names(x)),
            _ => false,
        }
    }

    fn address_in(&self, bytes: &[u8]) -> bool {
        if self.addresses.is_empty() {
            return false;
        }
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        self.addresses.iter().any(|a| text.contains(a.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_find_ids_as_values_and_addresses_anywhere() {
        let id = uuid::Uuid::now_v7().to_string();
        let n = Needles::new(&[id.clone(), "Ann@Shop.Example".into(), "+66812345678".into()]);
        assert!(n.found_in(&format!(r#"{{"ticket_id":"{id}"}}"#)));
        assert!(n.found_in(r#"{"to":"ANN@shop.example","name":null}"#));
        assert!(n.found_in("From: Ann <ann@shop.EXAMPLE>"));
        assert!(n.found_in(r#"{"text":"call +66812345678"}"#));
        // Another id, or the id only as a part of a longer string, is not it.
        assert!(!n.found_in(&format!(r#"{{"ticket_id":"{}"}}"#, uuid::Uuid::now_v7())));
        assert!(!n.found_in(r#"{"to":"bob@shop.example"}"#));
        assert!(n.address_in("ร้าน ann@shop.example".as_bytes()));
    }
}
