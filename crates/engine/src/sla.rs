//! Business hours (and, next, SLA policies): calendars admins define, which
//! SLA targets count in.

use crate::{Engine, EngineError, Principal};
use domain::calendar::Calendar;
use domain::ids::*;
pub use store::sla::BusinessHours;

/// Most calendars a workspace keeps.
pub const MAX_CALENDARS: usize = 200;

/// The weekdays as the API names them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A calendar as given (`None` keeps a field when changing one).
#[derive(Clone, Debug, Default)]
pub struct HoursInput {
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub week: Option<[Vec<(String, String)>; 7]>,
    pub holidays: Option<Vec<String>>,
}

/// A stored calendar ready for arithmetic.
pub fn calendar_of(b: &BusinessHours) -> Result<Calendar, EngineError> {
    Ok(Calendar::new(&b.time_zone, &b.week, &b.holidays)?)
}

fn name_of(n: &str) -> Result<String, EngineError> {
    let n = domain::text::clean_line(n);
    if n.is_empty() || n.chars().count() > 100 {
        return Err(EngineError::invalid("name", "1 to 100 characters"));
    }
    Ok(n)
}

impl Engine {
    pub async fn business_hours_list(
        &self,
        p: &Principal,
    ) -> Result<Vec<BusinessHours>, EngineError> {
        let mut c = self.store.read().await?;
        Ok(store::sla::all_hours(&mut c.conn(), p.workspace_id).await?)
    }

    pub async fn business_hours(
        &self,
        p: &Principal,
        id: CalendarId,
    ) -> Result<BusinessHours, EngineError> {
        let mut c = self.store.read().await?;
        store::sla::hours(&mut c.conn(), p.workspace_id, id)
            .await?
            .ok_or(EngineError::NotFound)
    }

    /// Creates a calendar (owners and admins); it is checked by building it.
    pub async fn create_business_hours(
        &self,
        p: &Principal,
        input: HoursInput,
    ) -> Result<BusinessHours, EngineError> {
        p.require_admin()?;
        let name = name_of(input.name.as_deref().unwrap_or_default())?;
        let time_zone = input
            .time_zone
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| EngineError::invalid("time_zone", "required"))?;
        let week = input.week.unwrap_or_default();
        let holidays = input.holidays.unwrap_or_default();
        let now = self.now();
        let b = BusinessHours {
            id: CalendarId::new(),
            workspace_id: p.workspace_id,
            name,
            time_zone,
            week,
            holidays,
            created_at: now,
            updated_at: now,
        };
        calendar_of(&b)?;
        let ws = p.workspace_id;
        let row = b.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if store::sla::all_hours(&mut tx.conn(), ws).await?.len() >= MAX_CALENDARS {
                        // A full workspace, not a bad request: the same body
                        // is fine once a calendar goes.
                        return Err(EngineError::Conflict(format!(
                            "the workspace already has {MAX_CALENDARS} calendars"
                        )));
                    }
                    store::sla::insert_hours(tx, &row).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(b)
    }

    /// Changes a calendar (owners and admins).
    pub async fn update_business_hours(
        &self,
        p: &Principal,
        id: CalendarId,
        input: HoursInput,
    ) -> Result<BusinessHours, EngineError> {
        p.require_admin()?;
        let mut b = self.business_hours(p, id).await?;
        if let Some(n) = input.name {
            b.name = name_of(&n)?;
        }
        if let Some(t) = input.time_zone {
            b.time_zone = t.trim().to_owned();
        }
        if let Some(w) = input.week {
            b.week = w;
        }
        if let Some(h) = input.holidays {
            b.holidays = h;
        }
        calendar_of(&b)?;
        b.updated_at = self.now();
        let row = b.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    store::sla::update_hours(tx, &row).await?;
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        Ok(b)
    }
}
