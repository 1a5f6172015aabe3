//! The records services return, re-exported so that callers above the engine
//! (web, channels, the binary) name them without depending on the store.

pub use store::CommittedEvent;
pub use store::channels::Held;
pub use store::constraint::Unique;
pub use store::customers::{Customer, Suggestion};
pub use store::events::{Cursor, EventRecord};
pub use store::flows::Flow;
pub use store::live::Signal;
pub use store::orders::{OrderRecord, StoreIntegration};
pub use store::organizations::{Organization, name_key as organization_name_key};
pub use store::outreach::{Outreach, OutreachRule};
pub use store::people::{ApiToken, Team, User};
pub use store::tickets::{
    Attachment, Field, Filter, Message, OPEN_STATUSES, SlaView, Sort, Ticket,
};
pub use store::triage::{Category as TriageCategory, Triage};
pub use store::workspaces::Workspace;
pub use store::{Clock, Store, StoreOptions, SystemClock};
