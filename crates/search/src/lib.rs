//! Full-text search: language analysis for Russian, Thai and English, and the
//! node-local index that a follower of the event log keeps current.

#![forbid(unsafe_code)]

pub mod analysis;
pub mod follow;
pub mod index;

pub use engine::search::KbHit;
pub use follow::Follower;
pub use index::{SearchError, SearchIndex};
