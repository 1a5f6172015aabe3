//! Customers: one profile across channels, found or created by any identity,
//! mergeable when two profiles turn out to be one person.

use crate::{Engine, EngineError, Principal, page_limit};
use domain::event::{Actor, EventData, record};
use domain::identity::{Identity, normalize_language, normalize_name};
use domain::ids::*;
use store::customers::{self, Customer};
use store::events::EventRecord;
use store::{StoreError, Tx};

/// Who a customer is, as an inbound request describes them.
#[derive(Clone, Debug, Default)]
pub struct CustomerInput {
    pub name: Option<String>,
    pub language: Option<String>,
    pub identities: Vec<Identity>,
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
}

/// Finds the customer any of `input`'s identities belongs to, or creates one.
/// Identities not yet known are added to the found customer; identities that belong
/// to a different customer are left there (merging is an explicit act).
pub(crate) async fn resolve(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    input: &CustomerInput,
) -> Result<(CustomerId, bool), EngineError> {
    if input.identities.is_empty() {
        return Err(EngineError::invalid(
            "customer",
            "give a customer id or at least one identity (email, phone, …)",
        ));
    }
    // The description is checked whole even when an identity finds an existing
    // customer, whose name and language it then leaves as they are.
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
    let owners = customers::owners_of(&mut tx.conn(), ws, &input.identities).await?;
    let (id, created) = match owners.iter().flatten().next() {
        Some(id) => (*id, false),
        None => {
            let now = tx.now();
            let c = Customer {
                id: CustomerId::new(),
                workspace_id: ws,
                // Without a name, the customer is called by how they were known.
                name: match name {
                    Some(n) => n,
                    None => {
                        let handle = input.identities.first().map_or("", |i| i.value());
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
    for (i, owner) in input.identities.iter().zip(owners) {
        if owner.is_none() {
            customers::insert_identity(tx, ws, id, i).await?;
            tx.emit(
                ws,
                actor,
                EventData::IdentityAdded {
                    customer_id: id,
                    kind: i.kind(),
                    value: i.value().to_owned(),
                },
            )
            .await?;
        }
    }
    Ok((id, created))
}

impl Engine {
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
                            return Err(EngineError::Conflict(format!(
                                "the {} {} already belongs to a customer",
                                i.kind(),
                                i.value()
                            )));
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
            return Err(EngineError::Rule(
                "this customer was merged into another; change that one".into(),
            ));
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
                return Err(EngineError::invalid("notes", "at most 10,000 characters"));
            }
            record(&mut changes, "notes", &mut c.notes, n);
        }
        if let Some(t) = patch.tags {
            let t = domain::ticket::normalize_tags(t.iter().map(String::as_str))?;
            record(&mut changes, "tags", &mut c.tags, t);
        }
        c.updated_at = self.store.now();
        let (c2, actor, add) = (c.clone(), p.actor(), patch.add_identities);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    customers::update(tx, &c2).await?;
                    for i in &add {
                        customers::insert_identity(tx, c2.workspace_id, c2.id, i).await.map_err(|e| match e {
                            StoreError::Conflict(_) => EngineError::Conflict(format!("the {} {} already belongs to a customer; merge the two instead", i.kind(), i.value())),
                            e => e.into(),
                        })?;
                        tx.emit(c2.workspace_id, actor, EventData::IdentityAdded { customer_id: c2.id, kind: i.kind(), value: i.value().to_owned() }).await?;
                    }
                    if !changes.is_empty() {
                        tx.emit(c2.workspace_id, actor, EventData::CustomerUpdated { customer_id: c2.id, changes }).await?;
                    }
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
            return Err(EngineError::Rule(
                "a customer cannot be merged into itself".into(),
            ));
        }
        let t = self.customer(p, target).await?;
        let s = self.customer(p, source).await?;
        if t.merged_into.is_some() || s.merged_into.is_some() {
            return Err(EngineError::Rule(
                "one of these customers was already merged into another".into(),
            ));
        }
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let moved = customers::merge(tx, ws, target, source).await?;
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
