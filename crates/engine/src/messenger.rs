//! What the messenger channels share: the error a provider's API answers
//! with, a file to send, why a webhook call is refused, splitting long text,
//! and comparing secrets.

use crate::outbound::Delivery;

/// A call a messenger's API refused or that did not complete.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{description}")]
pub struct RemoteError {
    /// The provider asked to wait this long (Telegram's 429 `retry_after`), in
    /// seconds.
    pub retry_after: Option<u64>,
    /// Retrying cannot help (a bad token, a blocked bot, a closed window).
    pub permanent: bool,
    pub description: String,
}

/// A file to send.
#[derive(Clone, Debug)]
pub struct OutFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
}

/// Why a webhook call was refused before anything was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookRefusal {
    /// No such channel (or not active): 404.
    Unknown,
    /// No secret header: 401.
    Unsigned,
    /// The wrong secret: 403.
    BadSecret,
}

/// Splits a reply into pieces a messenger takes (at most `max` characters
/// each), after a line break where one falls in the last quarter of a piece.
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = (start + max).min(chars.len());
        if end < chars.len()
            && let Some(nl) = chars[start + max * 3 / 4..end]
                .iter()
                .rposition(|&c| c == '\n')
        {
            end = start + max * 3 / 4 + nl + 1;
        }
        out.push(chars[start..end].iter().collect());
        start = end;
    }
    out
}

/// A failed call as a delivery outcome: final, or try again (no sooner than
/// the provider asked).
pub fn remote_delivery(e: RemoteError) -> Delivery {
    if e.permanent {
        Delivery::Failed(e.description)
    } else {
        match e.retry_after {
            Some(s) => Delivery::RetryAfter(e.description, s),
            None => Delivery::Retry(e.description),
        }
    }
}

/// Compares secrets in time that does not depend on where they differ: their
/// digests are compared, every byte.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}
