//! Event positions as clients see them. Event ids are one sequence for the whole
//! server, so a plain id or `(transaction, id)` pair would show a workspace how
//! busy the others are. Clients get them encrypted under a key of their own
//! workspace instead: a four-round Feistel network over the 128-bit position,
//! keyed with HMAC-derived round keys, which is a permutation: every position
//! has one spelling and every spelling decodes to some position.

use crate::secret::SecretKey;
use domain::ids::WorkspaceId;
use sha2::{Digest, Sha256};
use store::events::Cursor;

const ROUNDS: usize = 4;

/// Encodes and decodes one workspace's event positions.
pub struct CursorCodec {
    keys: [[u8; 32]; ROUNDS],
}

impl CursorCodec {
    pub fn new(secret: &SecretKey, ws: WorkspaceId) -> CursorCodec {
        let mut keys = [[0u8; 32]; ROUNDS];
        for (r, k) in keys.iter_mut().enumerate() {
            *k = secret.sign(&[b"event-cursor", ws.0.as_bytes(), &[r as u8]]);
        }
        CursorCodec { keys }
    }

    fn round(&self, r: usize, half: u64) -> u64 {
        let mut h = Sha256::new();
        h.update(self.keys[r]);
        h.update(half.to_be_bytes());
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_be_bytes(b)
    }

    /// 32 lower-case hex digits.
    pub fn encode(&self, c: Cursor) -> String {
        let (mut l, mut r) = (c.tx.max(0) as u64, c.id.max(0) as u64);
        for i in 0..ROUNDS {
            (l, r) = (r, l ^ self.round(i, r));
        }
        format!("{l:016x}{r:016x}")
    }

    /// The position `s` spells, or `None` when it is not 32 lower-case hex digits.
    /// A spelling no server gave out decodes to some position all the same; past
    /// the end, it reads nothing.
    pub fn decode(&self, s: &str) -> Option<Cursor> {
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut l = u64::from_str_radix(&s[..16], 16).ok()?;
        let mut r = u64::from_str_radix(&s[16..], 16).ok()?;
        for i in (0..ROUNDS).rev() {
            (l, r) = (r ^ self.round(i, l), l);
        }
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        Some(Cursor {
            tx: clamp(l),
            id: clamp(r),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_and_differ_by_workspace() {
        let key = SecretKey::generate();
        let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
        let (ca, cb) = (CursorCodec::new(&key, a), CursorCodec::new(&key, b));
        for c in [
            Cursor { tx: 0, id: 0 },
            Cursor { tx: 0, id: 1 },
            Cursor { tx: 0, id: 2 },
            Cursor {
                tx: 812_345,
                id: 99,
            },
            Cursor {
                tx: i64::MAX,
                id: i64::MAX,
            },
        ] {
            let s = ca.encode(c);
            assert_eq!(s.len(), 32);
            assert_eq!(ca.decode(&s), Some(c));
            assert_ne!(cb.encode(c), s, "another workspace spells it differently");
        }
        // Neighbouring ids share nothing visible.
        let (one, two) = (
            ca.encode(Cursor { tx: 0, id: 1 }),
            ca.encode(Cursor { tx: 0, id: 2 }),
        );
        let same = one.bytes().zip(two.bytes()).filter(|(x, y)| x == y).count();
        assert!(same < 12, "{one} {two}");
        assert_eq!(ca.decode("0"), None);
        assert_eq!(ca.decode(&"G".repeat(32)), None);
        assert_eq!(ca.decode(&one.to_uppercase()), None);
        assert!(ca.decode(&"f".repeat(32)).is_some());
    }
}
