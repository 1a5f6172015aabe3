//! Macros: canned responses for the composer and the ticket changes that go
//! with them. Shared macros are kept by owners, admins and supervisors;
//! anyone who works tickets keeps personal ones. Applying a macro makes its
//! changes as the agent (one `ticket.updated`), counts the use, and gives back
//! its text in the customer's language with the placeholders filled — the
//! agent sends it (or edits it first) like any reply.

use crate::tickets::{TicketRef, patch_ticket};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Message;
use domain::event::EventData;
use domain::ids::*;
use domain::macros::MacroSpec;
use domain::rules::Action;
use domain::ticket::Visibility;
pub use store::macros::Macro;
use store::tickets::Ticket;

/// Most macros a workspace keeps (shared and personal together).
pub const MAX_MACROS: i64 = 2_000;
/// Most macros one list shows.
const LIST: i64 = 500;

/// A macro as given (`None` keeps a field when changing one).
#[derive(Clone, Debug, Default)]
pub struct MacroInput {
    pub name: Option<String>,
    /// Shared with the workspace (`true`) or the author's own.
    pub shared: Option<bool>,
    pub spec: Option<MacroSpec>,
}

/// What applying a macro gave.
#[derive(Clone, Debug)]
pub struct Applied {
    pub ticket: Ticket,
    /// The text for the composer, placeholders filled; empty when the macro
    /// has none.
    pub body: String,
    pub visibility: Visibility,
}

impl Engine {
    /// The macros `p` may use, most used first; `q` narrows by words in the
    /// name or text (case-insensitive).
    pub async fn macros(&self, p: &Principal, q: Option<&str>) -> Result<Vec<Macro>, EngineError> {
        let mut c = self.store.read().await?;
        let all = store::macros::usable(&mut c.conn(), p.workspace_id, p.user_id, LIST).await?;
        let words: Vec<String> = q
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        Ok(all
            .into_iter()
            .filter(|m| {
                let hay = format!("{} {}", m.name, m.spec.body).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect())
    }

    /// One macro `p` may use.
    pub async fn macro_(&self, p: &Principal, id: MacroId) -> Result<Macro, EngineError> {
        let mut c = self.store.read().await?;
        store::macros::get(&mut c.conn(), p.workspace_id, id)
            .await?
            .filter(|m| m.owner_id.is_none_or(|o| o == p.user_id))
            .ok_or(EngineError::NotFound)
    }

    /// Who may change a macro: its owner, or for shared ones owners, admins
    /// and supervisors.
    fn may_keep(p: &Principal, shared: bool) -> Result<(), EngineError> {
        if shared && !p.role.can_supervise() {
            return Err(EngineError::Forbidden(Code::SharedMacrosByLeads.into()));
        }
        Ok(())
    }

    /// Checks what a macro names (teams, agents) is in the workspace.
    async fn check_macro(&self, p: &Principal, spec: &MacroSpec) -> Result<(), EngineError> {
        let mut c = self.store.read().await?;
        for (i, a) in spec.actions.iter().enumerate() {
            let at = format!("actions[{i}]");
            match a {
                Action::SetTeam { team_id: Some(t) }
                    if store::people::team_by_id(&mut c.conn(), p.workspace_id, *t)
                        .await?
                        .is_none() =>
                {
                    return Err(EngineError::Unknown(
                        at,
                        Message::new(Code::NoTeam).with("t", t),
                    ));
                }
                Action::Assign { user_id: Some(u) }
                    if !store::people::user_by_id(&mut c.conn(), p.workspace_id, *u)
                        .await?
                        .is_some_and(|u| u.active) =>
                {
                    return Err(EngineError::Unknown(
                        at,
                        Message::new(Code::NoAgent).with("u", u),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub async fn create_macro(
        &self,
        p: &Principal,
        input: MacroInput,
    ) -> Result<Macro, EngineError> {
        let shared = input.shared.unwrap_or(false);
        Self::may_keep(p, shared)?;
        let spec = input
            .spec
            .ok_or_else(|| EngineError::invalid("body", Code::MacroEmpty))?
            .validated()?;
        self.check_macro(p, &spec).await?;
        let now = self.now();
        let m = Macro {
            id: MacroId::new(),
            workspace_id: p.workspace_id,
            owner_id: (!shared).then_some(p.user_id),
            name: domain::macros::name(input.name.as_deref().unwrap_or_default())?,
            spec,
            usage_count: 0,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        };
        let row = m.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let ws = row.workspace_id;
                    if store::macros::count(&mut tx.conn(), ws).await? >= MAX_MACROS {
                        return Err(EngineError::Conflict(
                            Message::new(Code::MacrosLimit).with("max_macros", MAX_MACROS),
                        ));
                    }
                    store::macros::insert(tx, &row).await?;
                    tx.emit(
                        ws,
                        actor,
                        EventData::MacroSaved {
                            macro_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await?;
                    Ok(())
                })
            })
            .await?;
        Ok(m)
    }

    pub async fn update_macro(
        &self,
        p: &Principal,
        id: MacroId,
        input: MacroInput,
    ) -> Result<Macro, EngineError> {
        let mut m = self.macro_(p, id).await?;
        Self::may_keep(p, m.owner_id.is_none())?;
        if let Some(n) = input.name {
            m.name = domain::macros::name(&n)?;
        }
        if let Some(shared) = input.shared {
            // Sharing one's own macro, or taking a shared one back, is for
            // those who keep shared macros.
            if shared != m.owner_id.is_none() {
                Self::may_keep(p, true)?;
            }
            m.owner_id = (!shared).then_some(m.owner_id.unwrap_or(p.user_id));
        }
        if let Some(spec) = input.spec {
            let spec = spec.validated()?;
            self.check_macro(p, &spec).await?;
            m.spec = spec;
        }
        m.updated_at = self.now();
        let row = m.clone();
        let actor = p.actor();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::macros::update(tx, &row).await?;
                    tx.emit(
                        row.workspace_id,
                        actor,
                        EventData::MacroSaved {
                            macro_id: row.id,
                            name: row.name.clone(),
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(m)
    }

    pub async fn delete_macro(&self, p: &Principal, id: MacroId) -> Result<(), EngineError> {
        let m = self.macro_(p, id).await?;
        Self::may_keep(p, m.owner_id.is_none())?;
        let (ws, actor) = (p.workspace_id, p.actor());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if !store::macros::delete(tx, ws, id).await? {
                        return Err(EngineError::NotFound);
                    }
                    tx.emit(ws, actor, EventData::MacroDeleted { macro_id: id })
                        .await?;
                    Ok(())
                })
            })
            .await
    }

    /// Applies a macro to a ticket: its changes, as `p`, in one transaction
    /// with the count of its use; returns the text for the composer.
    pub async fn apply_macro(
        &self,
        p: &Principal,
        r: TicketRef,
        id: MacroId,
    ) -> Result<Applied, EngineError> {
        let m = self.macro_(p, id).await?;
        if !m.spec.actions.is_empty() || m.spec.visibility == Visibility::Public {
            p.require_ticket_work()?;
        }
        let ticket = self.load_ticket(p, r).await?;
        let patch = crate::rules::patch_of(&ticket, &m.spec.actions)?;
        let (ws, actor, agent) = (p.workspace_id, p.actor(), p.user_id);
        let spec = m.spec.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let t = match patch {
                        Some(patch) => patch_ticket(tx, ws, ticket.id, actor, patch).await?,
                        None => store::tickets::get(&mut tx.conn(), ws, ticket.id)
                            .await?
                            .ok_or(EngineError::NotFound)?,
                    };
                    store::macros::used(tx, ws, id).await?;
                    let language =
                        store::customers::language(&mut tx.conn(), ws, t.customer_id).await?;
                    let text = spec.text_for(language.as_deref());
                    let body = crate::rules::render(&mut tx.conn(), &t, Some(agent), text).await?;
                    Ok(Applied {
                        ticket: t,
                        body,
                        visibility: spec.visibility,
                    })
                })
            })
            .await
    }
}
