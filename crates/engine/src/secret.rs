//! The server's secret key: seals credentials at rest (ChaCha20-Poly1305) and
//! signs values that must not be guessable (HMAC-SHA256), each under its own
//! derived key.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// 32 secret bytes from configuration (or a key file the server created).
#[derive(Clone)]
pub struct SecretKey {
    seal: [u8; 32],
    sign: [u8; 32],
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// A sealed value could not be opened: the key changed or the bytes are damaged.
#[derive(Debug, thiserror::Error)]
#[error("the stored secret cannot be opened with this server's key (was secret_key changed?)")]
pub struct OpenError;

fn derive(master: &[u8], purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"otklik/");
    h.update(purpose.as_bytes());
    h.update(master);
    h.finalize().into()
}

impl SecretKey {
    pub fn from_bytes(master: &[u8; 32]) -> SecretKey {
        SecretKey {
            seal: derive(master, "seal"),
            sign: derive(master, "sign"),
        }
    }

    /// A fresh random key (tests; servers persist theirs).
    pub fn generate() -> SecretKey {
        SecretKey::from_bytes(&Self::random_bytes())
    }

    pub fn random_bytes() -> [u8; 32] {
        let mut b = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut b);
        b
    }

    /// Parses 32 bytes given as 64 hex digits or as base64.
    pub fn parse(text: &str) -> Option<SecretKey> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?
        } else {
            base64::engine::general_purpose::STANDARD.decode(t).ok()?
        };
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(SecretKey::from_bytes(&arr))
    }

    /// Encrypts `plain`; the output is nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.seal));
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        // Encryption with a valid key and nonce cannot fail for in-memory input.
        out.extend(
            cipher
                .encrypt(Nonce::from_slice(&nonce), plain)
                .unwrap_or_default(),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 12 + 16 {
            return Err(OpenError);
        }
        let (nonce, body) = sealed.split_at(12);
        ChaCha20Poly1305::new(Key::from_slice(&self.seal))
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| OpenError)
    }

    /// HMAC-SHA256 of `parts` (length-prefixed, so that part boundaries count).
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC zero-pads a short key to the block size; padding it here gives the
        // infallible fixed-size constructor.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.sign);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key() {
        let k = SecretKey::generate();
        let sealed = k.seal(b"imap password");
        assert!(!sealed.windows(8).any(|w| w == b"password"));
        assert_eq!(k.open(&sealed).ok(), Some(b"imap password".to_vec()));
        assert!(SecretKey::generate().open(&sealed).is_err());
        let mut damaged = sealed.clone();
        damaged[20] ^= 1;
        assert!(k.open(&damaged).is_err());
        assert!(k.open(b"short").is_err());
    }

    #[test]
    fn keys_parse_from_hex_or_base64_and_sign_deterministically() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = SecretKey::parse(hex).map(|k| k.sign(&[b"x"]));
        let b64 = base64::engine::general_purpose::STANDARD.encode(
            (0..32)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect::<Vec<u8>>(),
        );
        assert_eq!(a, SecretKey::parse(&b64).map(|k| k.sign(&[b"x"])));
        assert!(SecretKey::parse("too short").is_none());
        let k = SecretKey::generate();
        assert_ne!(k.sign(&[b"ab", b"c"]), k.sign(&[b"a", b"bc"]));
    }
}
