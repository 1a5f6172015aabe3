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
use domain::Code;
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

/// What may follow the host and port of an address.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rest {
    /// Path segments of letters, digits and `._~-` only (an API base).
    Segments,
    /// Any path and query, no spaces or fragment (a webhook address).
    Any,
}

/// Whether `v` is `http(s)://host[:port][rest]` as the API's schema states
/// it: the host a dotted IPv4 address without leading zeros (URL parsers
/// read `08` as broken octal) or DNS labels of letters and digits joined by
/// single dashes, the last starting with a letter; no credentials.
pub(crate) fn plain_address(v: &str, rest: Rest) -> bool {
    let Some(after) = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
    else {
        return false;
    };
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, tail) = after.split_at(end);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        (1..=5).contains(&p.len())
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u32>().is_ok_and(|n| n <= 65535)
    });
    let octet = |o: &str| {
        !o.is_empty()
            && o.len() <= 3
            && o.bytes().all(|b| b.is_ascii_digit())
            && (o.len() == 1 || !o.starts_with('0'))
            && o.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let parts: Vec<&str> = host.split('.').collect();
    let ipv4 = parts.len() == 4 && parts.iter().all(|o| octet(o));
    let label = |l: &str| {
        !l.is_empty()
            && l.split('-')
                .all(|piece| !piece.is_empty() && piece.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    let domain = parts.iter().all(|l| label(l))
        && parts
            .last()
            .is_some_and(|l| l.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()));
    let tail_ok = tail.is_empty()
        || match rest {
            Rest::Segments => {
                tail.split('/').skip(1).all(|seg| {
                    seg.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-')
                    })
                }) && tail.starts_with('/')
            }
            Rest::Any => {
                tail.starts_with('/') && !tail.chars().any(|c| c.is_whitespace() || c == '#')
            }
        };
    port_ok && (ipv4 || domain) && tail_ok
}

/// An address the server POSTs to: http(s), a host, no credentials, at
/// most 2,000 characters.
pub(crate) fn checked_url(field: &str, v: &str) -> Result<String, EngineError> {
    let v = v.trim();
    let ok = v.len() <= 2000
        && plain_address(v, Rest::Any)
        && reqwest::Url::parse(v).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.username().is_empty()
        });
    if !ok {
        return Err(EngineError::invalid(field, Code::Url));
    }
    Ok(v.to_owned())
}

/// What a receiver made of a signed POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Posted {
    /// 2xx, with the status and the start of the answer.
    Done(u16, String),
    /// A 4xx other than 408/429: retrying will not change it.
    Refused(u16, String),
    /// Anything else: try again later (the status, when there was one).
    Retry(Option<u16>, String),
}

/// The start of an answer's body kept for the delivery log.
pub(crate) const ANSWER_KEPT: usize = 1024;

/// POSTs `body` as JSON to `url`, signed with `key` at `ts` (Unix seconds),
/// within [`TIMEOUT`], no redirects; reads at most [`ANSWER_KEPT`] bytes of
/// the answer when `read_answer`.
pub(crate) async fn post_signed(
    url: &str,
    key: &str,
    ts: i64,
    body: String,
    headers: &[(&str, String)],
    read_answer: bool,
) -> Result<Posted, EngineError> {
    let sig = signature(key, ts, body.as_bytes());
    let mut req = client()?
        .post(url)
        .header("content-type", "application/json")
        .header("x-otklik-timestamp", ts.to_string())
        .header("x-otklik-signature", sig);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let mut res = match req.body(body).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Ok(Posted::Retry(
                None,
                format!("no answer within {} s", TIMEOUT.as_secs()),
            ));
        }
        Err(e) => return Ok(Posted::Retry(None, format!("not delivered: {e}"))),
    };
    let status = res.status();
    let mut answer = Vec::new();
    if read_answer {
        while answer.len() < ANSWER_KEPT {
            match tokio::time::timeout(TIMEOUT, res.chunk()).await {
                Ok(Ok(Some(c))) => answer.extend_from_slice(&c),
                _ => break,
            }
        }
        answer.truncate(ANSWER_KEPT);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = status.as_u16();
    Ok(if status.is_success() {
        Posted::Done(code, answer)
    } else if status.is_client_error() && !matches!(code, 408 | 429) {
        Posted::Refused(code, answer)
    } else {
        Posted::Retry(Some(code), format!("the receiver answered {status}"))
    })
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
        let posted = post_signed(
            url,
            &self.webhook_key(*ws),
            ts,
            body,
            &[("x-otklik-rule", rule.id.to_string())],
            false,
        )
        .await?;
        let outcome = match posted {
            Posted::Done(..) => Outcome::Done,
            Posted::Refused(status, _) => {
                tracing::warn!(rule = %rule.id, status, "a webhook was refused; not retried");
                metrics::counter!("otklik_webhooks_total", "outcome" => "refused").increment(1);
                return Ok(Outcome::Done);
            }
            Posted::Retry(_, why) => Outcome::Retry(why),
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
    fn addresses_are_read_as_the_schema_states_them() {
        for ok in [
            "https://crm.shop.example/otklik/events?x=1",
            "http://127.0.0.1:8080/hook",
            "http://10.0.0.1",
            "https://a-b.c-d.example:443",
        ] {
            assert!(plain_address(ok, Rest::Any), "{ok}");
        }
        for bad in [
            "http://250.100.250.217*",
            "http://255.65.113.08:49144",
            "https://user@shop.example",
            "http://shop.example?x",
            "https://shop.example/a b",
            "https://shop.example/#x",
            "https://a--b.example",
            "https://1.2.3",
            "https://shop.example:65536",
            "ftp://shop.example",
            "https://магазин.рф",
        ] {
            assert!(!plain_address(bad, Rest::Any), "{bad}");
        }
        assert!(plain_address(
            "https://api.telegram.org/bot",
            Rest::Segments
        ));
        assert!(!plain_address(
            "https://api.telegram.org/bot?x",
            Rest::Segments
        ));
    }

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
