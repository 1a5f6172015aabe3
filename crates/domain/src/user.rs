//! People who work in a workspace and what each role may do.

use crate::wire_enum;

wire_enum!(
    /// A user's role. `light_agent` reads and writes internal notes only.
    Role {
        Owner = "owner",
        Admin = "admin",
        Supervisor = "supervisor",
        Agent = "agent",
        LightAgent = "light_agent",
    }
);

impl Role {
    /// Manage users, teams, custom fields, tokens and settings.
    pub fn can_administer(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
    /// Keep what the whole workspace shares (shared macros, the knowledge
    /// base): owners, admins and supervisors.
    pub fn can_supervise(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Supervisor)
    }
    /// Change tickets and customers, post public replies.
    pub fn can_work_tickets(self) -> bool {
        !matches!(self, Role::LightAgent)
    }
    /// Write internal notes (everyone who can read).
    pub fn can_write_notes(self) -> bool {
        true
    }
    /// Grant `other` to someone: nobody grants a role above their own, and only an
    /// owner makes owners.
    pub fn can_grant(self, other: Role) -> bool {
        match self {
            Role::Owner => true,
            Role::Admin => other != Role::Owner,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_agents_cannot_work_tickets_and_admins_cannot_make_owners() {
        assert!(!Role::LightAgent.can_work_tickets());
        assert!(Role::LightAgent.can_write_notes());
        assert!(Role::Agent.can_work_tickets());
        assert!(!Role::Agent.can_administer());
        assert!(!Role::Admin.can_grant(Role::Owner));
        assert!(Role::Owner.can_grant(Role::Owner));
    }
}

/// What a person chose for themselves: how pages speak to them, in which
/// time zone times read, the signature under their email replies, and what
/// they want to be told about.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// An interface language (`en`, `ru`, `th`); else the browser's, then
    /// the workspace's.
    pub language: Option<String>,
    /// An IANA zone; else the workspace's.
    pub time_zone: Option<String>,
    /// Added under their replies by email (at most 2,000 characters).
    pub signature: String,
    pub notify: Notify,
}

/// Which alerts a person's pages give; everything is on until turned off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Notify {
    /// A customer wrote on a ticket assigned to them.
    pub replied: bool,
    /// A ticket was assigned to them, or they were invited as an expert.
    pub assigned: bool,
    /// A colleague's note mentioned them.
    pub mentioned: bool,
    /// Their reminder came due, a snoozed ticket of theirs woke, a rule
    /// named them.
    pub reminders: bool,
    /// Alerts also as desktop notifications (when the browser allows).
    pub desktop: bool,
    /// The weekly and monthly report emails (supervisors and admins, when
    /// the workspace sends them).
    pub reports: bool,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            replied: true,
            assigned: true,
            mentioned: true,
            reminders: true,
            desktop: true,
            reports: true,
        }
    }
}

/// The longest signature.
pub const MAX_SIGNATURE: usize = 2_000;
