//! Customers: one profile across channels, found or created by any identity,
//! mergeable when two profiles turn out to be one person.

use crate::{Engine, EngineError, Principal, page_limit};
use domain::Code;
use domain::Message;
use domain::event::{Actor, EventData, record};
use domain::identity::{Identity, MatchReason, normalize_language, normalize_name};
use domain::ids::*;
use domain::message;
use std::collections::HashMap;
use store::customers::{self, Customer, Holder, Suggestion};
use store::events::EventRecord;
use store::{StoreError, Tx};

/// Who a customer is, as an inbound request describes them.
#[derive(Clone, Debug, Default)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub language: Option<String>,
    /// Identities a channel proved (the sender of mail, a messenger account,
    /// caller id, a signed widget identity, a trusted integration or agent).
    pub identities: Vec<Identity>,
    /// Identities the person only typed (a chat's pre-chat form): kept on
    /// their profile, but never a reason to join them to someone else's.
    pub claims: Vec<Identity>,
    /// The customer whose conversation this message answers (a reply to mail
    /// sent to an address they claimed): their claim of a proved identity is
    /// then confirmed rather than taken from them.
    pub answering: Option<CustomerId>,
}

/// Changes to a customer; identities are added, never silently taken from another.
#[derive(Clone, Debug, Default)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub language: Option<Option<String>>,
    pub notes: Option<String>,
    pub add_identities: Vec<Identity>,
    /// Replaces every tag.
    pub tags: Option<Vec<String>>,
    /// The organisation they belong to; `Some(None)` takes them out of it.
    pub organization_id: Option<Option<OrganizationId>>,
    /// Merged into their customer fields; a `null` value removes one.
    pub custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The name and language `input` gives, checked (a blank name is none).
pub fn checked_details(
    input: &CustomerInput,
) -> Result<(Option<String>, Option<String>), EngineError> {
    let name = input
        .name
        .as_deref()
        .filter(|n| !domain::text::clean_line(n).is_empty())
        .map(normalize_name)
        .transpose()?;
    let language = input
        .language
        .as_deref()
        .map(normalize_language)
        .transpose()?;
    Ok((name, language))
}

/// The customer a request names by id, as they are now: a profile merged
/// away names the one it became. An id of no customer of the workspace, or
/// of one whose data was erased, is refused as `customer_id` (404).
pub(crate) async fn live_id(
    tx: &mut Tx,
    ws: WorkspaceId,
    id: CustomerId,
) -> Result<CustomerId, EngineError> {
    let unknown = || EngineError::Unknown("customer_id".into(), message::no_such("customer"));
    let mut c = store::customers::get(&mut tx.conn(), ws, id)
        .await?
        .ok_or_else(unknown)?;
    if let Some(into) = c.merged_into {
        c = store::customers::get(&mut tx.conn(), ws, into)
            .await?
            .ok_or_else(unknown)?;
    }
    // An erased profile only counts what it had; nothing new attaches to it.
    if c.erased_at.is_some() {
        return Err(unknown());
    }
    Ok(c.id)
}

/// Finds the customer `input` describes, or creates one, by these rules:
///
/// - A proved identity someone already holds (proved) names that customer; a
///   shared one (an office line) only when nothing else is given.
/// - With none held, a phone number held as the other kind (phone ↔ WhatsApp)
///   names its holder, unless the number is shared or the names disagree:
///   then a new profile is made and the pair is suggested to agents.
/// - Proved identities held by a second profile, and claims that someone else
///   holds, are suggested, never merged.
/// - A proved identity that another profile had only claimed moves to the
///   prover (suggested as a pair), unless this message answers that profile.
/// - New identities are added: proved ones verified, claims unverified.
pub(crate) async fn resolve(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    input: &CustomerInput,
) -> Result<(CustomerId, bool), EngineError> {
    if input.identities.is_empty() && input.claims.is_empty() {
        return Err(EngineError::invalid("customer", Code::CustomerNeeded));
    }
    // The description is checked whole even when an identity finds an existing
    // customer, whose name and language it then leaves as they are.
    let (name, language) = checked_details(input)?;
    let holders = customers::owners_of(&mut tx.conn(), ws, &input.identities).await?;
    let mut held: Vec<(&Identity, Holder)> = Vec::new();
    let mut taken: Vec<(&Identity, CustomerId)> = Vec::new();
    let mut fresh: Vec<&Identity> = Vec::new();
    for (i, h) in input.identities.iter().zip(holders) {
        match h {
            None => fresh.push(i),
            Some(h) if h.verified => held.push((i, h)),
            Some(h) if input.answering == Some(h.customer_id) => {
                customers::set_identity(tx, ws, i, h.customer_id, true, h.shared).await?;
                identity_updated(tx, ws, actor, h.customer_id, i, true, h.shared).await?;
                held.push((
                    i,
                    Holder {
                        verified: true,
                        ..h
                    },
                ));
            }
            Some(h) => taken.push((i, h.customer_id)),
        }
    }
    let mut pending: Vec<(CustomerId, MatchReason, &Identity)> = Vec::new();
    let mut found = held
        .iter()
        .find(|(_, h)| !h.shared)
        .or_else(|| {
            held.first()
                .filter(|_| fresh.is_empty() && taken.is_empty())
        })
        .map(|(_, h)| h.customer_id);
    for (i, h) in &held {
        if Some(h.customer_id) != found {
            let why = if h.shared {
                MatchReason::SharedIdentity
            } else {
                MatchReason::TwoProfiles
            };
            pending.push((h.customer_id, why, i));
        }
    }
    // A number new as this kind may be known as its twin.
    for (i, h) in twin_holders(tx, ws, &fresh).await? {
        if !h.verified {
            pending.push((h.customer_id, MatchReason::Claimed, i));
        } else if h.shared {
            pending.push((h.customer_id, MatchReason::SharedIdentity, i));
        } else if found.is_none() {
            let theirs = customers::names(&mut tx.conn(), ws, &[h.customer_id]).await?;
            let agree = match (&name, theirs.first()) {
                (Some(n), Some((_, t))) => domain::identity::names_agree(n, t),
                _ => true,
            };
            if agree {
                found = Some(h.customer_id);
            } else {
                pending.push((h.customer_id, MatchReason::NamesDiffer, i));
            }
        }
    }
    let (id, created) = match found {
        Some(id) => {
            adopt_name(tx, ws, actor, id, name.as_deref()).await?;
            (id, false)
        }
        None => {
            let now = tx.now();
            let c = Customer {
                id: CustomerId::new(),
                workspace_id: ws,
                // Without a name, the customer is called by how they were known.
                name: match name {
                    Some(n) => n,
                    None => {
                        let handle = input
                            .identities
                            .iter()
                            .chain(&input.claims)
                            .next()
                            .map_or("", |i| i.value());
                        normalize_name(&handle.chars().take(200).collect::<String>())?
                    }
                },
                language,
                notes: String::new(),
                merged_into: None,
                tags: Vec::new(),
                created_at: now,
                updated_at: now,
                identities: Vec::new(),
                outreach_opt_out: false,
                at_risk_since: None,
                organization_id: None,
                custom_fields: Default::default(),
                erased_at: None,
            };
            customers::insert(tx, &c).await?;
            tx.emit(
                ws,
                actor,
                EventData::CustomerCreated {
                    customer_id: c.id,
                    name: c.name.clone(),
                },
            )
            .await?;
            (c.id, true)
        }
    };
    for i in &fresh {
        customers::insert_identity(tx, ws, id, i, true).await?;
        identity_added(tx, ws, actor, id, i).await?;
    }
    crate::organizations::link_by_email(tx, ws, actor, id, emails(fresh.iter().copied())).await?;
    for (i, claimer) in taken {
        customers::set_identity(tx, ws, i, id, true, false).await?;
        identity_added(tx, ws, actor, id, i).await?;
        pending.push((claimer, MatchReason::Claimed, i));
    }
    add_claims(tx, ws, actor, id, &input.claims, &mut pending).await?;
    for (other, why, i) in pending {
        suggest(tx, ws, actor, id, other, why, i).await?;
    }
    Ok((id, created))
}

/// A profile known only by a number or handle (a caller) takes the first real
/// name a channel gives.
async fn adopt_name(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    id: CustomerId,
    name: Option<&str>,
) -> Result<(), EngineError> {
    let Some(name) = name.filter(|n| n.chars().any(char::is_alphabetic)) else {
        return Ok(());
    };
    let Some(mut c) = customers::get(&mut tx.conn(), ws, id).await? else {
        return Ok(());
    };
    if c.name.chars().any(char::is_alphabetic) {
        return Ok(());
    }
    let mut changes = Vec::new();
    record(&mut changes, "name", &mut c.name, name.to_owned());
    c.updated_at = tx.now();
    customers::update(tx, &c).await?;
    tx.emit(
        ws,
        actor,
        EventData::CustomerUpdated {
            customer_id: id,
            changes,
        },
    )
    .await?;
    Ok(())
}

/// The email addresses among these identities.
fn emails<'a>(ids: impl IntoIterator<Item = &'a Identity>) -> Vec<&'a str> {
    ids.into_iter()
        .filter(|i| i.kind() == domain::identity::IdentityKind::Email)
        .map(Identity::value)
        .collect()
}

/// Keeps what a person typed about themselves on their profile: unverified
/// where nobody has it, as a suggestion where someone else does.
pub(crate) async fn add_claims<'a>(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    customer: CustomerId,
    claims: &'a [Identity],
    pending: &mut Vec<(CustomerId, MatchReason, &'a Identity)>,
) -> Result<(), EngineError> {
    let holders = customers::owners_of(&mut tx.conn(), ws, claims).await?;
    for (i, h) in claims.iter().zip(holders) {
        match h {
            None => {
                customers::insert_identity(tx, ws, customer, i, false).await?;
                identity_added(tx, ws, actor, customer, i).await?;
            }
            Some(h) if h.customer_id == customer => {}
            Some(h) => pending.push((h.customer_id, MatchReason::Claimed, i)),
        }
    }
    let all: Vec<&Identity> = claims.iter().collect();
    for (i, h) in twin_holders(tx, ws, &all).await? {
        if h.customer_id != customer {
            pending.push((h.customer_id, MatchReason::Claimed, i));
        }
    }
    Ok(())
}

/// Who holds each number as its other kind (a phone number as WhatsApp and
/// the other way round), for the identities that have a twin kind.
async fn twin_holders<'a>(
    tx: &mut Tx,
    ws: WorkspaceId,
    ids: &[&'a Identity],
) -> Result<Vec<(&'a Identity, Holder)>, EngineError> {
    let twins: Vec<(&Identity, Identity)> = ids
        .iter()
        .filter_map(|i| {
            let kind = i.kind().twin()?;
            Identity::parse(kind, i.value()).ok().map(|t| (*i, t))
        })
        .collect();
    if twins.is_empty() {
        return Ok(Vec::new());
    }
    let lookup: Vec<Identity> = twins.iter().map(|(_, t)| t.clone()).collect();
    let holders = customers::owners_of(&mut tx.conn(), ws, &lookup).await?;
    Ok(twins
        .into_iter()
        .zip(holders)
        .filter_map(|((i, _), h)| Some((i, h?)))
        .collect())
}

/// Records a possible pair for agents (once per pair, however often it is seen).
pub(crate) async fn suggest(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    customer: CustomerId,
    other: CustomerId,
    reason: MatchReason,
    i: &Identity,
) -> Result<(), EngineError> {
    if customers::suggest(tx, ws, customer, other, reason, i).await? {
        tx.emit(
            ws,
            actor,
            EventData::MergeSuggested {
                customer_id: customer,
                other_id: other,
                reason,
                kind: i.kind(),
                value: i.value().to_owned(),
            },
        )
        .await?;
    }
    Ok(())
}

async fn identity_added(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    customer: CustomerId,
    i: &Identity,
) -> Result<(), EngineError> {
    tx.emit(
        ws,
        actor,
        EventData::IdentityAdded {
            customer_id: customer,
            kind: i.kind(),
            value: i.value().to_owned(),
        },
    )
    .await?;
    Ok(())
}

async fn identity_updated(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    customer: CustomerId,
    i: &Identity,
    verified: bool,
    shared: bool,
) -> Result<(), EngineError> {
    tx.emit(
        ws,
        actor,
        EventData::IdentityUpdated {
            customer_id: customer,
            kind: i.kind(),
            value: i.value().to_owned(),
            verified,
            shared,
        },
    )
    .await?;
    Ok(())
}

/// A page of a customer's timeline with what it takes to tell it: the start
/// of each message, each ticket's number and subject, the other profiles named.
#[derive(Clone, Debug, Default)]
pub struct Story {
    pub events: Vec<EventRecord>,
    pub snippets: HashMap<MessageId, String>,
    pub tickets: HashMap<TicketId, (i64, String)>,
    pub names: HashMap<CustomerId, String>,
}

impl Engine {
    /// The customer's timeline (newest first) ready to show.
    pub async fn customer_story(
        &self,
        p: &Principal,
        id: CustomerId,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Story, EngineError> {
        let events = self.customer_timeline(p, id, before, limit).await?;
        let ws = p.workspace_id;
        let mut messages = Vec::new();
        let mut tickets = Vec::new();
        let mut people = Vec::new();
        for e in &events {
            if let Some(t) = e.ticket_id {
                tickets.push(t);
            }
            match &e.data {
                EventData::MessageAdded { message_id, .. } => messages.push(*message_id),
                EventData::CustomersMerged { merged_id: o, .. }
                | EventData::MergeSuggested { other_id: o, .. }
                | EventData::SuggestionDismissed { other_id: o, .. } => people.push(*o),
                _ => {}
            }
        }
        tickets.sort();
        tickets.dedup();
        let mut c = self.store.read().await?;
        Ok(Story {
            snippets: store::tickets::snippets(&mut c.conn(), ws, &messages, 160)
                .await?
                .into_iter()
                .collect(),
            tickets: store::tickets::headlines(&mut c.conn(), ws, &tickets)
                .await?
                .into_iter()
                .map(|(id, n, s)| (id, (n, s)))
                .collect(),
            names: customers::names(&mut c.conn(), ws, &people)
                .await?
                .into_iter()
                .collect(),
            events,
        })
    }

    pub async fn customer(&self, p: &Principal, id: CustomerId) -> Result<Customer, EngineError> {
        let mut c = self.store.read().await?;
        customers::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    pub async fn customers(
        &self,
        p: &Principal,
        before: Option<CustomerId>,
        q: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<Customer>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(customers::list(
            &mut c.conn(),
            p.workspace_id,
            before,
            q.filter(|s| !s.trim().is_empty()),
            page_limit(limit),
        )
        .await?)
    }

    /// Creates a customer; `Conflict` if one of the identities already belongs to someone.
    pub async fn create_customer(
        &self,
        p: &Principal,
        input: CustomerInput,
    ) -> Result<Customer, EngineError> {
        p.require_ticket_work()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        let id = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    for i in &input.identities {
                        if customers::find_by_identity(&mut tx.conn(), ws, i)
                            .await?
                            .is_some()
                        {
                            return Err(EngineError::Conflict(
                                Message::new(Code::IdentityTaken)
                                    .label("kind", "identity", i.kind().as_str())
                                    .with("value", i.value()),
                            ));
                        }
                    }
                    let (id, _) = resolve(tx, ws, actor, &input).await?;
                    Ok(id)
                })
            })
            .await?;
        self.customer(p, id).await
    }

    pub async fn update_customer(
        &self,
        p: &Principal,
        id: CustomerId,
        patch: CustomerPatch,
    ) -> Result<Customer, EngineError> {
        p.require_ticket_work()?;
        let mut c = self.customer(p, id).await?;
        if c.merged_into.is_some() {
            return Err(EngineError::Rule(Code::CustomerMerged.into()));
        }
        if c.erased_at.is_some() {
            return Err(EngineError::Rule(Code::CustomerErased.into()));
        }
        let mut changes = Vec::new();
        if let Some(n) = patch.name {
            let n = normalize_name(&n)?;
            record(&mut changes, "name", &mut c.name, n);
        }
        if let Some(l) = patch.language {
            let l = l.as_deref().map(normalize_language).transpose()?;
            record(&mut changes, "language", &mut c.language, l);
        }
        if let Some(n) = patch.notes {
            if n.chars().count() > 10_000 {
                return Err(EngineError::invalid("notes", message::max_chars(10_000)));
            }
            record(&mut changes, "notes", &mut c.notes, n);
        }
        if let Some(t) = patch.tags {
            let t = domain::ticket::normalize_tags(t.iter().map(String::as_str))?;
            record(&mut changes, "tags", &mut c.tags, t);
        }
        c.updated_at = self.store.now();
        let (mut c2, actor, add) = (c.clone(), p.actor(), patch.add_identities);
        let (org, fields) = (patch.organization_id, patch.custom_fields);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let ws = c2.workspace_id;
                    if let Some(org) = org {
                        if let Some(o) = org
                            && store::organizations::get(&mut tx.conn(), ws, o)
                                .await?
                                .is_none()
                        {
                            return Err(EngineError::Unknown(
                                "organization_id".into(),
                                message::no_such("organization"),
                            ));
                        }
                        record(
                            &mut changes,
                            "organization_id",
                            &mut c2.organization_id,
                            org,
                        );
                    }
                    if let Some(f) = &fields {
                        let f = crate::organizations::checked_fields(
                            tx,
                            ws,
                            domain::fields::FieldTarget::Customer,
                            &c2.custom_fields,
                            f,
                        )
                        .await?;
                        record(&mut changes, "custom_fields", &mut c2.custom_fields, f);
                    }
                    customers::update(tx, &c2).await?;
                    for i in &add {
                        customers::insert_identity(tx, c2.workspace_id, c2.id, i, true)
                            .await
                            .map_err(|e| match e {
                                StoreError::Conflict(_) => EngineError::Conflict(
                                    Message::new(Code::IdentityTakenMerge)
                                        .label("kind", "identity", i.kind().as_str())
                                        .with("value", i.value()),
                                ),
                                e => e.into(),
                            })?;
                        tx.emit(
                            c2.workspace_id,
                            actor,
                            EventData::IdentityAdded {
                                customer_id: c2.id,
                                kind: i.kind(),
                                value: i.value().to_owned(),
                            },
                        )
                        .await?;
                    }
                    if !changes.is_empty() {
                        tx.emit(
                            c2.workspace_id,
                            actor,
                            EventData::CustomerUpdated {
                                customer_id: c2.id,
                                changes,
                            },
                        )
                        .await?;
                    }
                    crate::organizations::link_by_email(tx, ws, actor, c2.id, emails(add.iter()))
                        .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        self.customer(p, id).await
    }

    /// Merges `source` into `target`: identities, tickets and history move; the
    /// source profile remains only as a pointer to the target.
    pub async fn merge_customers(
        &self,
        p: &Principal,
        target: CustomerId,
        source: CustomerId,
    ) -> Result<Customer, EngineError> {
        p.require_ticket_work()?;
        if target == source {
            return Err(EngineError::Rule(Code::MergeIntoItself.into()));
        }
        let t = self.customer(p, target).await?;
        let s = self.customer(p, source).await?;
        if t.merged_into.is_some() || s.merged_into.is_some() {
            return Err(EngineError::Rule(Code::AlreadyMerged.into()));
        }
        if t.erased_at.is_some() || s.erased_at.is_some() {
            return Err(EngineError::Rule(Code::CustomerErased.into()));
        }
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let moved = customers::merge(tx, ws, target, source).await?;
                    crate::journey::rebuild_summary(tx, ws, target).await?;
                    store::journey::delete_summary(tx, ws, source).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::CustomersMerged {
                            customer_id: target,
                            merged_id: source,
                            identities: moved.identities,
                            tickets: moved.tickets,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        self.customer(p, target).await
    }

    /// Profiles that may be the same person as this one, for an agent to
    /// merge or dismiss.
    pub async fn merge_suggestions(
        &self,
        p: &Principal,
        id: CustomerId,
    ) -> Result<Vec<Suggestion>, EngineError> {
        self.customer(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(customers::suggestions(&mut c.conn(), p.workspace_id, id).await?)
    }

    /// Marks a suggestion as wrong: the pair is not suggested again.
    pub async fn dismiss_suggestion(
        &self,
        p: &Principal,
        customer: CustomerId,
        id: SuggestionId,
    ) -> Result<(), EngineError> {
        p.require_ticket_work()?;
        let other = self
            .merge_suggestions(p, customer)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(EngineError::NotFound)?
            .other_id;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    customers::close_suggestion(tx, ws, customer, id, "dismissed").await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::SuggestionDismissed {
                            customer_id: customer,
                            other_id: other,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// Marks one of a customer's identities as shared by several people (an
    /// office line, a family phone), or not: a shared identity never links a
    /// new channel's profile to this one by itself.
    pub async fn set_identity_shared(
        &self,
        p: &Principal,
        customer: CustomerId,
        identity: IdentityId,
        shared: bool,
    ) -> Result<Customer, EngineError> {
        p.require_ticket_work()?;
        let c = self.customer(p, customer).await?;
        if c.merged_into.is_some() {
            return Err(EngineError::Rule(Code::CustomerMerged.into()));
        }
        let rec = c
            .identities
            .iter()
            .find(|i| i.id == identity)
            .ok_or(EngineError::NotFound)?
            .clone();
        if rec.shared != shared {
            let i = Identity::parse(rec.kind, &rec.value)?;
            let (ws, actor) = (p.workspace_id, p.actor());
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        customers::set_identity(tx, ws, &i, customer, rec.verified, shared).await?;
                        identity_updated(tx, ws, actor, customer, &i, rec.verified, shared).await?;
                        Ok::<_, EngineError>(())
                    })
                })
                .await?;
        }
        self.customer(p, customer).await
    }

    /// Everything about a customer, newest first.
    pub async fn customer_timeline(
        &self,
        p: &Principal,
        id: CustomerId,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<EventRecord>, EngineError> {
        self.customer(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(
            store::events::of_customer(
                &mut c.conn(),
                p.workspace_id,
                id,
                before,
                page_limit(limit),
            )
            .await?,
        )
    }
}
