//! Organisations: the companies customers belong to, with their notes,
//! fields and email domains. A domain links customers to its organisation:
//! a customer whose verified email address is at it joins when they belong to
//! none (on creation, when the address is added, and when the domain is
//! claimed). An agent may move a customer to another organisation or none;
//! no domain overrides that.

use crate::{Engine, EngineError, Principal, page_limit};
use domain::Code;
use domain::event::{Actor, Change, EventData, record};
use domain::fields::FieldTarget;
use domain::ids::*;
use domain::message;
use serde_json::{Map, Value};
use store::Tx;
use store::customers::{self, Customer};
use store::organizations::{self, Organization};

/// Customers one save links at most, over all the domains it claims; more
/// wait for the next save (the answer says how many were linked).
const LINK_LIMIT: i64 = 5_000;

/// An organisation as given; `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct OrganizationInput {
    pub name: Option<String>,
    pub notes: Option<String>,
    /// Replaces every domain.
    pub domains: Option<Vec<String>>,
    /// Merged into its fields; a `null` value removes one.
    pub custom_fields: Option<Map<String, Value>>,
}

fn checked_name(raw: &str) -> Result<String, EngineError> {
    let n = domain::text::clean_line(raw);
    if n.is_empty() || n.chars().count() > 200 {
        return Err(EngineError::invalid("name", message::chars(1, 200)));
    }
    Ok(n)
}

fn checked_notes(raw: String) -> Result<String, EngineError> {
    if raw.chars().count() > 10_000 {
        return Err(EngineError::invalid("notes", message::max_chars(10_000)));
    }
    Ok(raw)
}

/// Claims `domains` for `org`: refused when another organisation holds one.
/// Returns the domains it did not hold before.
async fn claim(
    tx: &mut Tx,
    org: &Organization,
    before: &[String],
) -> Result<Vec<String>, EngineError> {
    for d in &org.domains {
        if let Some(owner) = organizations::by_domain(&mut tx.conn(), org.workspace_id, d).await?
            && owner != org.id
        {
            let name = organizations::get(&mut tx.conn(), org.workspace_id, owner)
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            return Err(EngineError::Conflict(
                domain::Message::new(Code::DomainOwned)
                    .with("domain", d)
                    .with("organization", name),
            ));
        }
    }
    Ok(org
        .domains
        .iter()
        .filter(|d| !before.contains(d))
        .cloned()
        .collect())
}

/// Links the unattached customers at these domains to `org`, each with a
/// `customer.updated` event naming the change. Returns how many.
async fn link_domains(
    tx: &mut Tx,
    org: &Organization,
    domains: &[String],
    actor: Actor,
) -> Result<u64, EngineError> {
    let mut linked = 0;
    for d in domains {
        let left = LINK_LIMIT - i64::try_from(linked).unwrap_or(LINK_LIMIT);
        if left <= 0 {
            break;
        }
        let ids = organizations::unlinked_at(&mut tx.conn(), org.workspace_id, d, left).await?;
        let now = tx.now();
        organizations::link(tx, org.workspace_id, Some(org.id), &ids, now).await?;
        for id in &ids {
            tx.emit(
                org.workspace_id,
                actor,
                EventData::CustomerUpdated {
                    customer_id: *id,
                    changes: vec![Change {
                        field: "organization_id".into(),
                        from: Value::Null,
                        to: Value::String(org.id.to_string()),
                    }],
                },
            )
            .await?;
        }
        linked += ids.len() as u64;
    }
    Ok(linked)
}

/// Puts a customer into the organisation that claims the domain of one of
/// these (verified) email addresses, when they belong to none.
pub(crate) async fn link_by_email(
    tx: &mut Tx,
    ws: WorkspaceId,
    actor: Actor,
    customer: CustomerId,
    emails: impl IntoIterator<Item = &str>,
) -> Result<(), EngineError> {
    for e in emails {
        let Some(d) = domain::org::email_domain(e) else {
            continue;
        };
        let Some(org) = organizations::by_domain(&mut tx.conn(), ws, d).await? else {
            continue;
        };
        let Some(mut c) = customers::get(&mut tx.conn(), ws, customer).await? else {
            return Ok(());
        };
        if c.organization_id.is_some() || c.merged_into.is_some() {
            return Ok(());
        }
        let mut changes = Vec::new();
        record(
            &mut changes,
            "organization_id",
            &mut c.organization_id,
            Some(org),
        );
        c.updated_at = tx.now();
        customers::update(tx, &c).await?;
        tx.emit(
            ws,
            actor,
            EventData::CustomerUpdated {
                customer_id: customer,
                changes,
            },
        )
        .await?;
        return Ok(());
    }
    Ok(())
}

/// Checks `patch` against the workspace's fields for `target` and returns
/// `current` with it applied.
pub(crate) async fn checked_fields(
    tx: &mut Tx,
    ws: WorkspaceId,
    target: FieldTarget,
    current: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, EngineError> {
    crate::tickets::validate_fields(tx, ws, target, current, patch).await
}

impl Engine {
    /// Organisations by name with how many customers each has; `q` searches
    /// names and domains; `after` is the last name key of the previous page.
    pub async fn organizations(
        &self,
        p: &Principal,
        q: Option<&str>,
        after: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<(Organization, i64)>, EngineError> {
        let q = q.map(domain::text::clean_line).filter(|q| !q.is_empty());
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err(EngineError::invalid("q", message::max_chars(200)));
        }
        let mut c = self.store.read().await?;
        let list = organizations::list(
            &mut c.conn(),
            p.workspace_id,
            q.as_deref(),
            after,
            page_limit(limit),
        )
        .await?;
        let ids: Vec<OrganizationId> = list.iter().map(|o| o.id).collect();
        let counts = organizations::member_counts(&mut c.conn(), p.workspace_id, &ids).await?;
        Ok(list
            .into_iter()
            .map(|o| {
                let n = counts
                    .iter()
                    .find(|(id, _)| *id == o.id)
                    .map_or(0, |(_, n)| *n);
                (o, n)
            })
            .collect())
    }

    pub async fn organization(
        &self,
        p: &Principal,
        id: OrganizationId,
    ) -> Result<Organization, EngineError> {
        let mut c = self.store.read().await?;
        organizations::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// The customers of an organisation, newest first.
    pub async fn organization_members(
        &self,
        p: &Principal,
        id: OrganizationId,
        limit: Option<i64>,
    ) -> Result<Vec<Customer>, EngineError> {
        self.organization(p, id).await?;
        let mut c = self.store.read().await?;
        Ok(
            customers::of_organization(&mut c.conn(), p.workspace_id, id, page_limit(limit))
                .await?,
        )
    }

    /// Creates an organisation; its domains bring in the customers at them.
    pub async fn create_organization(
        &self,
        p: &Principal,
        input: OrganizationInput,
    ) -> Result<(Organization, u64), EngineError> {
        p.require_ticket_work()?;
        let name = checked_name(input.name.as_deref().unwrap_or_default())?;
        let now = self.store.now();
        let o = Organization {
            id: OrganizationId::new(),
            workspace_id: p.workspace_id,
            name,
            notes: checked_notes(input.notes.unwrap_or_default())?,
            custom_fields: Map::new(),
            domains: domain::org::domain_names(&input.domains.unwrap_or_default())?,
            created_at: now,
            updated_at: now,
        };
        let (fields, actor) = (input.custom_fields.unwrap_or_default(), p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut o = o;
                    o.custom_fields = checked_fields(
                        tx,
                        o.workspace_id,
                        FieldTarget::Organization,
                        &Map::new(),
                        &fields,
                    )
                    .await?;
                    let fresh = claim(tx, &o, &[]).await?;
                    organizations::insert(tx, &o).await?;
                    tx.emit(
                        o.workspace_id,
                        actor,
                        EventData::OrganizationCreated {
                            organization_id: o.id,
                            name: o.name.clone(),
                        },
                    )
                    .await?;
                    let linked = link_domains(tx, &o, &fresh, actor).await?;
                    Ok::<_, EngineError>((o, linked))
                })
            })
            .await
    }

    /// Changes an organisation; domains it newly claims bring in the
    /// customers at them; those it gives up leave their customers where they are.
    pub async fn update_organization(
        &self,
        p: &Principal,
        id: OrganizationId,
        input: OrganizationInput,
    ) -> Result<(Organization, u64), EngineError> {
        p.require_ticket_work()?;
        let name = input.name.as_deref().map(checked_name).transpose()?;
        let notes = input.notes.map(checked_notes).transpose()?;
        let domains = input
            .domains
            .as_deref()
            .map(domain::org::domain_names)
            .transpose()?;
        let (ws, actor, fields) = (p.workspace_id, p.actor(), input.custom_fields);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let mut o = organizations::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    let before = o.domains.clone();
                    let mut changes = Vec::new();
                    if let Some(n) = name {
                        record(&mut changes, "name", &mut o.name, n);
                    }
                    if let Some(n) = notes {
                        record(&mut changes, "notes", &mut o.notes, n);
                    }
                    if let Some(d) = domains {
                        record(&mut changes, "domains", &mut o.domains, d);
                    }
                    if let Some(f) = &fields {
                        let f =
                            checked_fields(tx, ws, FieldTarget::Organization, &o.custom_fields, f)
                                .await?;
                        record(&mut changes, "custom_fields", &mut o.custom_fields, f);
                    }
                    if changes.is_empty() {
                        return Ok((o, 0));
                    }
                    let fresh = claim(tx, &o, &before).await?;
                    o.updated_at = tx.now();
                    organizations::update(tx, &o).await?;
                    let linked = link_domains(tx, &o, &fresh, actor).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::OrganizationUpdated {
                            organization_id: o.id,
                            changes,
                            linked,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>((o, linked))
                })
            })
            .await
    }

    /// Deletes an organisation (admins): its customers stay, in none.
    pub async fn delete_organization(
        &self,
        p: &Principal,
        id: OrganizationId,
    ) -> Result<(), EngineError> {
        p.require_admin()?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let o = organizations::get(&mut tx.conn(), ws, id)
                        .await?
                        .ok_or(EngineError::NotFound)?;
                    organizations::delete(tx, ws, id).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::OrganizationDeleted {
                            organization_id: id,
                            name: o.name,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }
}
