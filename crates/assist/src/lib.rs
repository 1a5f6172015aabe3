//! The answer bot and triage: language detection, text features, linear
//! classifiers trained in-process on a workspace's own examples, and the
//! decisions built on them.

#![forbid(unsafe_code)]

pub mod bot;
pub mod classifier;
pub mod features;
pub mod lang;
pub mod linear;
pub mod signals;
