//! Rules' webhooks: the ticket POSTed as JSON to the address a rule names,
//! signed so the receiver can tell it came from this workspace and was not
//! replayed.
//!
//! Signature: `X-Otklik-Signature: v1=<hex>`, the HMAC-SHA256 of
//! `<X-Otklik-Timestamp>.<body>` under the workspace's webhook key
//! ([`Engine::webhook_key`], shown to admins). A remote host gets
//! [`TIMEOUT`] for the whole exchange, redirects are not followed, and the
//! answer's body is never read.

use crate::jobs::Job;
use crate::worker::Outcome;
use crate::{Engine, EngineError};
use domain::ids::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::OnceLock;
use std::time::Duration;

/// The whole exchange with a receiver, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The one client for webhooks: no redirects, bounded time.
fn client() -> Result<&'static reqwest::Client, EngineError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Otklik/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EngineError::Internal(format!("no HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| c))
}

/// `v1=<hex>` for `body` sent at `timestamp` (Unix seconds) under `key`.
pub fn signature(key: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex(&mac.finalize().into_bytes()))
}

impl Engine {
    /// The key a workspace's webhooks are signed with: derived from the
    /// server's secret, so it is stable and never stored.
    pub fn webhook_key(&self, ws: WorkspaceId) -> String {
        format!(
            "whk_{}",
            hex(&self.secret.sign(&[b"webhook", ws.0.as_bytes()]))
        )
    }

    /// Sends one webhook. A 2xx answer is done; a 4xx other than 408/429 will
    /// not change on retrying and is given up; anything else is retried.
    pub(crate) async fn send_webhook(&self, job: &Job) -> Result<Outcome, EngineError> {
        let Job::Webhook {
            workspace_id: ws,
            rule_id,
            ticket_id,
            url,
        } = job
        else {
            return Ok(Outcome::Done);
        };
        let (rule, ticket) = {
            let mut c = self.store.read().await?;
            let rule = store::rules::get(&mut c.conn(), *ws, *rule_id).await?;
            let ticket = store::tickets::get(&mut c.conn(), *ws, *ticket_id).await?;
            (rule, ticket)
        };
        // A rule or ticket deleted since: nothing to tell.
        let (Some(rule), Some(ticket)) = (rule, ticket) else {
            return Ok(Outcome::Done);
        };
        let now = self.now();
        let body = crate::rules::webhook_body(&rule, &ticket, now).to_string();
        let ts = now.millis() / 1000;
        let sig = signature(&self.webhook_key(*ws), ts, body.as_bytes());
        let sent = client()?
            .post(url)
            .header("content-type", "application/json")
            .header("x-otklik-timestamp", ts.to_string())
            .header("x-otklik-signature", sig)
            .header("x-otklik-rule", rule.id.to_string())
            .body(body)
            .send()
            .await;
        let outcome = match sent {
            Ok(r) if r.status().is_success() => Outcome::Done,
            Ok(r) if r.status().is_client_error() && !matches!(r.status().as_u16(), 408 | 429) => {
                tracing::warn!(rule = %rule.id, status = %r.status(), "a webhook was refused; not retried");
                metrics::counter!("otklik_webhooks_total", "outcome" => "refused").increment(1);
                return Ok(Outcome::Done);
            }
            Ok(r) => Outcome::Retry(format!("the receiver answered {}", r.status())),
            Err(e) if e.is_timeout() => {
                Outcome::Retry(format!("no answer within {} s", TIMEOUT.as_secs()))
            }
            Err(e) => Outcome::Retry(format!("not delivered: {e}")),
        };
        let label = if matches!(outcome, Outcome::Done) {
            "sent"
        } else {
            "retry"
        };
        metrics::counter!("otklik_webhooks_total", "outcome" => label).increment(1);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = signature("whk_1", 1_800_000_000, b"{\"a\":1}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64, "{a}");
        assert_ne!(a, signature("whk_1", 1_800_000_001, b"{\"a\":1}"));
        assert_ne!(a, signature("whk_1", 1_800_000_000, b"{\"a\":2}"));
        assert_ne!(a, signature("whk_2", 1_800_000_000, b"{\"a\":1}"));
        assert_eq!(a, signature("whk_1", 1_800_000_000, b"{\"a\":1}"));
    }
}
