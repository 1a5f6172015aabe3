//! Reminders: a person asks to be told about a ticket at a moment, with a
//! note. A job at that moment marks it done and emits `ticket.reminder_due`,
//! which the person's pages turn into an alert.

use crate::tickets::{MAX_SNOOZE_MS, TicketRef};
use crate::{Engine, EngineError, Principal};
use domain::Code;
use domain::Timestamp;
use domain::event::EventData;
use domain::ids::*;
use domain::message;
pub use store::reminders::Reminder;

/// Longest note on a reminder.
pub const MAX_NOTE: usize = 500;
/// Most reminders one person may have waiting.
pub const MAX_PENDING: i64 = 100;

impl Engine {
    /// Reminds the caller about a ticket at `at` (ahead, within a year).
    pub async fn add_reminder(
        &self,
        p: &Principal,
        r: TicketRef,
        at: Timestamp,
        note: &str,
    ) -> Result<Reminder, EngineError> {
        let note = domain::text::clean_line(note);
        if note.chars().count() > MAX_NOTE {
            return Err(EngineError::invalid("note", message::max_chars(MAX_NOTE)));
        }
        let ticket = self.load_ticket(p, r).await?;
        let (ws, user) = (p.workspace_id, p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = tx.now();
                    // Whether the moment is ahead depends on the clock.
                    if at <= now || at.millis() - now.millis() > MAX_SNOOZE_MS {
                        return Err(EngineError::Rule(Code::ReminderWhen.into()));
                    }
                    let pending =
                        store::reminders::pending_of(&mut tx.conn(), ws, user, MAX_PENDING).await?;
                    if pending.len() as i64 >= MAX_PENDING {
                        return Err(EngineError::Rule(
                            domain::Message::new(Code::RemindersLimit).with("max", MAX_PENDING),
                        ));
                    }
                    let reminder = Reminder {
                        id: ReminderId::new(),
                        workspace_id: ws,
                        ticket_id: ticket.id,
                        user_id: user,
                        due_at: at,
                        note,
                        created_at: now,
                        done_at: None,
                    };
                    store::reminders::insert(tx, &reminder).await?;
                    crate::jobs::Job::Remind {
                        workspace_id: ws,
                        reminder_id: reminder.id,
                    }
                    .enqueue(tx, at)
                    .await?;
                    Ok::<_, EngineError>(reminder)
                })
            })
            .await
    }

    /// The caller's reminders still to come, soonest first.
    pub async fn reminders(&self, p: &Principal) -> Result<Vec<Reminder>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(
            store::reminders::pending_of(&mut c.conn(), p.workspace_id, p.user_id, MAX_PENDING)
                .await?,
        )
    }

    /// Cancels one of the caller's reminders (another person's is not found).
    pub async fn cancel_reminder(&self, p: &Principal, id: ReminderId) -> Result<(), EngineError> {
        let (ws, user) = (p.workspace_id, p.user_id);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let r = store::reminders::get(&mut tx.conn(), ws, id)
                        .await?
                        .filter(|r| r.user_id == user && r.done_at.is_none())
                        .ok_or(EngineError::NotFound)?;
                    store::reminders::finish(tx, ws, r.id, tx.now()).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }

    /// A reminder's moment came: done, and its person is told (once).
    pub(crate) async fn remind(&self, ws: WorkspaceId, id: ReminderId) -> Result<(), EngineError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let Some(r) = store::reminders::get(&mut tx.conn(), ws, id).await? else {
                        return Ok(());
                    };
                    let now = tx.now();
                    if r.done_at.is_some() || !store::reminders::finish(tx, ws, id, now).await? {
                        return Ok(());
                    }
                    tx.emit(
                        ws,
                        domain::event::Actor::System,
                        EventData::ReminderDue {
                            ticket_id: r.ticket_id,
                            reminder_id: r.id,
                            user_id: r.user_id,
                            note: r.note,
                        },
                    )
                    .await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await
    }
}
