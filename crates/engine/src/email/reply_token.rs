//! Per-ticket reply addresses: `support+1042-k3j9x2mq7d@shop.example`. The token
//! is an HMAC of the workspace and ticket under the server key, so an address
//! cannot be forged to reach another ticket; the number keeps it readable.

use crate::secret::SecretKey;
use domain::ids::{TicketId, WorkspaceId};

const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const LEN: usize = 10;

/// The token for one ticket.
pub fn token(key: &SecretKey, ws: WorkspaceId, ticket: TicketId) -> String {
    let mac = key.sign(&[b"reply-token", ws.0.as_bytes(), ticket.0.as_bytes()]);
    mac.iter()
        .take(LEN)
        .map(|b| ALPHABET[(*b & 31) as usize] as char)
        .collect()
}

/// The reply address of a ticket for a mailbox address.
pub fn address(
    key: &SecretKey,
    ws: WorkspaceId,
    ticket: TicketId,
    number: i64,
    mailbox: &str,
) -> String {
    match mailbox.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{number}-{}@{domain}", token(key, ws, ticket)),
        None => mailbox.to_owned(),
    }
}

/// (number, token) from `local+number-token@domain`, if `addr` has that form for
/// this mailbox.
pub fn parse(addr: &str, local: &str, domain: &str) -> Option<(i64, String)> {
    let (l, d) = addr.rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let tag = l.strip_prefix(local)?.strip_prefix('+')?;
    let (number, token) = tag.split_once('-')?;
    let number: i64 = number.parse().ok().filter(|n| *n > 0)?;
    (token.len() == LEN).then(|| (number, token.to_ascii_lowercase()))
}

/// Constant-time comparison of a received token with the ticket's.
pub fn verify(key: &SecretKey, ws: WorkspaceId, ticket: TicketId, got: &str) -> bool {
    let want = token(key, ws, ticket);
    want.len() == got.len()
        && want
            .bytes()
            .zip(got.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_addresses_round_trip_and_reject_forgeries() {
        let k = SecretKey::generate();
        let (ws, t) = (WorkspaceId::new(), TicketId::new());
        let a = address(&k, ws, t, 1042, "support@shop.example");
        let (n, tok) = parse(&a, "support", "shop.example").unwrap_or_default();
        assert_eq!(n, 1042);
        assert!(verify(&k, ws, t, &tok));
        assert!(!verify(&k, ws, TicketId::new(), &tok));
        assert!(!verify(&SecretKey::generate(), ws, t, &tok));
        assert_eq!(parse(&a, "sales", "shop.example"), None);
        assert_eq!(parse(&a, "support", "other.example"), None);
        assert_eq!(
            parse("support+12-short@shop.example", "support", "shop.example"),
            None
        );
    }
}
