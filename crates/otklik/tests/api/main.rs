//! The one integration-test binary: every scenario runs against the real server
//! on a random port with a fresh database, once on SQLite and once on PostgreSQL
//! (when `OTKLIK_TEST_PG_URL` names a server, as `cargo xtask ci` arranges).

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod api_channel;
mod assist;
mod auth;
mod browser;
mod cdp;
mod channels;
pub(crate) mod chat;
mod cli;
mod consumers;
mod customers;
mod durability;
mod email;
mod errors;
mod isolation;
mod jobs;
mod journey;
mod kb;
mod layering;
mod links;
mod macros;
mod mail_server;
mod orders;
mod outreach;
mod phone;
mod privacy;
mod providers;
mod quality;
mod reports;
pub(crate) mod routing;
mod rules;
mod search;
mod secrets;
mod sla;
mod subscriptions;
mod surveys;
pub(crate) mod telegram;
mod tickets;
pub(crate) mod ui;
mod vk;
mod whatsapp;

/// Declares `sqlite` and `postgres` test variants of each scenario function.
#[macro_export]
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::spawn($crate::helpers::Backend::Sqlite).await.expect("sqlite app");
                super::$scenario(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::spawn($crate::helpers::Backend::Postgres).await {
                    super::$scenario(app).await;
                }
            }
        }
    )*};
}
