//! Passwords, API tokens, browser sessions and login throttling.
//!
//! Passwords are argon2id hashes. Tokens and session cookies are 256-bit random
//! secrets; only their SHA-256 is stored, so a database leak yields no credential.
//! Login failures are throttled per account and per client address (in memory, per
//! node: a restart forgives, which is acceptable for a throttle).

use crate::{Engine, EngineError, Principal, Via};
use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use base64::Engine as _;
use domain::Code;
use domain::Message;
use domain::Timestamp;
use domain::ids::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::people::{self, Session};
use store::{StoreError, workspaces};

const SESSION_HOURS: i64 = 12;
const REMEMBER_DAYS: i64 = 30;
const FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_FAILS_PER_ACCOUNT: usize = 10;
const MAX_FAILS_PER_ADDR: usize = 30;
const MAX_FAILS_PER_PASSWORD_CHANGE: usize = 5;
/// How long a successful login from an address exempts that account from the
/// address's limit (people behind one proxy keep their access during an attack
/// from it).
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// Most keys the throttle remembers; the least recently used go first.
const MAX_KEYS: usize = 100_000;
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// The one password policy, for every way a password is set.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// At most 1 KiB of UTF-8, so that hashing cost stays bounded.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Attempts of one key within the window: each an instant and a ticket number,
/// so one attempt's reservation can be taken back.
#[derive(Default)]
struct Attempts {
    at: Vec<(Instant, u64)>,
    last: Option<Instant>,
}

#[derive(Default)]
struct Throttle {
    keys: HashMap<String, Attempts>,
    /// (address, account) pairs that logged in successfully, and when.
    known: HashMap<String, Instant>,
    next: u64,
}

impl Throttle {
    /// Drops expired entries and, over the size bound, the least recently used
    /// (down to nine tenths of the bound, so eviction is rare).
    fn tidy(&mut self, now: Instant) {
        if self.keys.len() >= MAX_KEYS {
            self.keys.retain(|_, a| {
                a.at.retain(|(t, _)| now.duration_since(*t) < FAIL_WINDOW);
                !a.at.is_empty()
            });
            evict_oldest(&mut self.keys, |a| a.last.unwrap_or(now));
        }
        if self.known.len() >= MAX_KEYS {
            self.known.retain(|_, t| now.duration_since(*t) < KNOWN_FOR);
            evict_oldest(&mut self.known, |t| *t);
        }
    }
}

fn evict_oldest<V>(map: &mut HashMap<String, V>, last_used: impl Fn(&V) -> Instant) {
    if map.len() < MAX_KEYS {
        return;
    }
    let excess = map.len() - MAX_KEYS * 9 / 10;
    let mut by_age: Vec<(Instant, String)> =
        map.iter().map(|(k, v)| (last_used(v), k.clone())).collect();
    by_age.sort_unstable();
    for (_, k) in by_age.into_iter().take(excess) {
        map.remove(&k);
    }
}

/// A reserved attempt: counted as a failure unless [`AuthState::forgive`] takes
/// it back after the password proved right.
#[derive(Debug)]
pub struct Reservation {
    keys: Vec<(String, u64)>,
}

/// In-memory state of authentication: the login throttle and token-use
/// bookkeeping. Per node: a restart forgives, which is acceptable for a throttle.
#[derive(Clone, Default)]
pub struct AuthState {
    throttle: Arc<Mutex<Throttle>>,
    touched: Arc<Mutex<HashMap<TokenId, Instant>>>,
}

impl AuthState {
    /// Counts an attempt against every key *before* the password is checked, so
    /// concurrent attempts cannot exceed a limit; refuses when one is reached.
    fn reserve(&self, keys: &[(&str, usize)]) -> Result<Reservation, EngineError> {
        let now = Instant::now();
        let mut t = self
            .throttle
            .lock()
            .map_err(|_| EngineError::Internal("login throttle poisoned".into()))?;
        t.tidy(now);
        for (key, max) in keys {
            if let Some(a) = t.keys.get_mut(*key) {
                a.at.retain(|(at, _)| now.duration_since(*at) < FAIL_WINDOW);
                if a.at.len() >= *max {
                    let oldest = a.at.first().map_or(now, |x| x.0);
                    let wait = FAIL_WINDOW.saturating_sub(now.duration_since(oldest));
                    return Err(EngineError::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
            }
        }
        let mut r = Reservation { keys: Vec::new() };
        for (key, _) in keys {
            t.next += 1;
            let n = t.next;
            let a = t.keys.entry((*key).to_owned()).or_default();
            a.at.push((now, n));
            a.last = Some(now);
            r.keys.push(((*key).to_owned(), n));
        }
        Ok(r)
    }

    /// Takes a reservation back: the attempt succeeded.
    fn forgive(&self, r: Reservation) {
        if let Ok(mut t) = self.throttle.lock() {
            for (key, n) in r.keys {
                if let Some(a) = t.keys.get_mut(&key) {
                    a.at.retain(|(_, m)| *m != n);
                }
            }
        }
    }

    /// Ends an account's failures (after a successful login).
    fn clear(&self, key: &str) {
        if let Ok(mut t) = self.throttle.lock() {
            t.keys.remove(key);
        }
    }

    fn remember(&self, pair: String) {
        if let Ok(mut t) = self.throttle.lock() {
            t.known.insert(pair, Instant::now());
        }
    }

    fn is_known(&self, pair: &str) -> bool {
        self.throttle
            .lock()
            .is_ok_and(|t| t.known.get(pair).is_some_and(|at| at.elapsed() < KNOWN_FOR))
    }

    fn should_touch(&self, id: TokenId) -> bool {
        let now = Instant::now();
        let Ok(mut map) = self.touched.lock() else {
            return false;
        };
        match map.get(&id) {
            Some(t) if now.duration_since(*t) < TOUCH_EVERY => false,
            _ => {
                map.insert(id, now);
                true
            }
        }
    }
}

/// The one password policy: 8 to 256 characters.
pub fn check_password(field: &str, password: &str) -> Result<(), EngineError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(EngineError::invalid(
            field,
            Message::new(Code::PasswordShort).with("min_password_chars", MIN_PASSWORD_CHARS),
        ));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(EngineError::invalid(
            field,
            Message::new(Code::PasswordLong).with("max_password_chars", MAX_PASSWORD_CHARS),
        ));
    }
    Ok(())
}

/// The throttle's name for an account: the workspace as its lookup reads it.
fn account_key(workspace: &str, email: &str) -> String {
    format!("acct:{}/{email}", workspace.trim().to_lowercase())
}

/// Hashes a password with argon2id and a random salt, after the policy.
pub fn hash_password(password: &str) -> Result<String, EngineError> {
    check_password("password", password)?;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Internal(e.to_string()))
}

/// A real hash of nothing in particular, so that a login for an unknown account
/// costs as much as one for a known account.
fn dummy_hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("otklik-dummy-password").unwrap_or_default())
        .clone()
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh secret: `prefix` then 43 characters of URL-safe base64 (256 bits).
pub fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// The stored form of a secret.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new browser session.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The cookie value (shown once).
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub principal: Principal,
}

impl Engine {
    /// Checks a password and opens a session. `addr` is the client's address for
    /// throttling. Unknown workspace, unknown user and wrong password are one error.
    pub async fn login(
        &self,
        workspace: &str,
        email: &str,
        password: &str,
        remember: bool,
        addr: &str,
    ) -> Result<NewSession, EngineError> {
        let email = email.trim().to_lowercase();
        let account_key = account_key(workspace, &email);
        let addr_key = format!("addr:{addr}");
        let pair = format!("{addr_key}/{account_key}");
        // The address's limit stops guessing across accounts; an account that
        // logged in from this address before is exempt, so one attacker behind a
        // shared proxy does not lock its other users out.
        let mut keys = vec![(account_key.as_str(), MAX_FAILS_PER_ACCOUNT)];
        if !self.auth.is_known(&pair) {
            keys.push((addr_key.as_str(), MAX_FAILS_PER_ADDR));
        }
        let reservation = self.auth.reserve(&keys)?;
        let found = {
            let mut c = self.store.read().await?;
            match workspaces::by_name(&mut c.conn(), workspace.trim()).await? {
                Some(ws) => people::user_by_email(&mut c.conn(), ws.id, &email).await?,
                None => None,
            }
        };
        let (user, hash) = match found {
            Some((u, Some(h))) if u.active => (Some(u), Some(h)),
            _ => (None, None),
        };
        let pw = password.to_owned();
        let ok = self
            .cpu
            .run(move || {
                // Spend the same effort as a real check so timing does not reveal
                // accounts.
                let h = hash.unwrap_or_else(dummy_hash);
                verify_password(&pw, &h)
            })
            .await?;
        let Some(user) = user.filter(|_| ok) else {
            // The reservation stays: it is this failure.
            return Err(EngineError::Unauthorized);
        };
        self.auth.forgive(reservation);
        self.auth.clear(&account_key);
        self.auth.remember(pair);
        self.open_session(user.workspace_id, user.id, user.role, remember)
            .await
    }

    async fn open_session(
        &self,
        ws: WorkspaceId,
        user: UserId,
        role: domain::user::Role,
        remember: bool,
    ) -> Result<NewSession, EngineError> {
        let secret = new_secret("");
        let csrf = new_secret("");
        let hash = secret_hash(&secret);
        let now = self.store.now();
        let ttl = if remember {
            REMEMBER_DAYS * 24 * 3600 * 1000
        } else {
            SESSION_HOURS * 3600 * 1000
        };
        let s = Session {
            id: SessionId::new(),
            workspace_id: ws,
            user_id: user,
            csrf_token: csrf.clone(),
            remember,
            created_at: now,
            expires_at: now.plus_millis(ttl),
        };
        let s2 = s.clone();
        self.store
            .write(move |tx| Box::pin(async move { people::insert_session(tx, &s2, &hash).await }))
            .await?;
        Ok(NewSession {
            secret,
            csrf_token: csrf.clone(),
            expires_at: s.expires_at,
            principal: Principal {
                workspace_id: ws,
                user_id: user,
                role,
                via: Via::Session { id: s.id, csrf },
            },
        })
    }

    /// Ends the session whose cookie is `secret`.
    pub async fn logout(&self, secret: &str) -> Result<(), EngineError> {
        let hash = secret_hash(secret);
        self.store
            .write(move |tx| Box::pin(async move { people::delete_session(tx, &hash).await }))
            .await
            .map_err(Into::into)
    }

    /// The principal of a bearer token, or `Unauthorized`.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Principal, EngineError> {
        let hash = secret_hash(secret);
        let found = {
            let mut c = self.store.read().await?;
            people::token_auth(&mut c.conn(), &hash).await?
        };
        let (token, user) = found.ok_or(EngineError::Unauthorized)?;
        if self.auth.should_touch(token.id) {
            let store = self.store.clone();
            let id = token.id;
            // Last-used time is bookkeeping: it must not slow the request down.
            tokio::spawn(async move {
                let r: Result<(), StoreError> = store
                    .write(move |tx| Box::pin(async move { people::touch_token(tx, id).await }))
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "could not record token use");
                }
            });
        }
        Ok(Principal {
            workspace_id: user.workspace_id,
            user_id: user.id,
            role: user.role,
            via: Via::Token(token.id),
        })
    }

    /// The principal of a session cookie, or `Unauthorized`.
    pub async fn authenticate_session(&self, secret: &str) -> Result<Principal, EngineError> {
        let hash = secret_hash(secret);
        let now = self.store.now();
        let found = {
            let mut c = self.store.read().await?;
            people::session_auth(&mut c.conn(), &hash, now).await?
        };
        let (s, user) = found.ok_or(EngineError::Unauthorized)?;
        Ok(Principal {
            workspace_id: user.workspace_id,
            user_id: user.id,
            role: user.role,
            via: Via::Session {
                id: s.id,
                csrf: s.csrf_token,
            },
        })
    }

    /// Changes the caller's own password after checking the current one; ends the
    /// user's other sessions.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
    ) -> Result<(), EngineError> {
        let user = {
            let mut c = self.store.read().await?;
            people::user_by_id(&mut c.conn(), p.workspace_id, p.user_id)
                .await?
                .ok_or(EngineError::NotFound)?
        };
        let stored = {
            let mut c = self.store.read().await?;
            people::user_by_email(&mut c.conn(), p.workspace_id, &user.email)
                .await?
                .and_then(|(_, h)| h)
        };
        check_password("new_password", new)?;
        let reservation = self
            .auth
            .reserve(&[(&format!("pw:{}", p.user_id), MAX_FAILS_PER_PASSWORD_CHANGE)])?;
        let cur = current.to_owned();
        let ok = match stored {
            Some(h) => self.cpu.run(move || verify_password(&cur, &h)).await?,
            None => false,
        };
        if !ok {
            return Err(EngineError::WrongPassword);
        }
        self.auth.forgive(reservation);
        let new = new.to_owned();
        let hash = self.cpu.run(move || hash_password(&new)).await??;
        let (ws, uid) = (p.workspace_id, p.user_id);
        let keep = match &p.via {
            Via::Session { id, .. } => Some(*id),
            _ => None,
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    people::set_password(tx, ws, uid, &hash).await?;
                    people::delete_user_sessions(tx, ws, uid, keep).await
                })
            })
            .await
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_unique_and_hashes_stable() {
        let a = new_secret("otk_");
        assert!(a.starts_with("otk_") && a.len() == 47, "{a}");
        assert_ne!(a, new_secret("otk_"));
        assert_eq!(secret_hash(&a), secret_hash(&a));
    }

    #[test]
    fn throttle_counts_attempts_before_they_are_checked() {
        let s = AuthState::default();
        // Three attempts in flight at once: the fourth is refused before any
        // password was checked.
        let held: Vec<_> = (0..3).map(|_| s.reserve(&[("k", 3)]).unwrap()).collect();
        assert!(matches!(
            s.reserve(&[("k", 3)]),
            Err(EngineError::RateLimited { retry_after_secs }) if retry_after_secs > 800
        ));
        // One of them succeeded: its reservation is taken back.
        let mut held = held.into_iter();
        s.forgive(held.next().unwrap());
        assert!(s.reserve(&[("k", 3)]).is_ok());
        s.clear("k");
        assert!(s.reserve(&[("k", 3)]).is_ok());
    }

    #[test]
    fn a_refusal_reserves_nothing_on_the_other_keys() {
        let s = AuthState::default();
        s.reserve(&[("a", 1)]).unwrap();
        assert!(s.reserve(&[("b", 1), ("a", 1)]).is_err());
        assert!(s.reserve(&[("b", 1)]).is_ok(), "b was not charged");
    }

    #[test]
    fn account_keys_ignore_spacing_and_case_of_the_workspace() {
        assert_eq!(account_key("demo  ", "a@b"), account_key(" Demo", "a@b"));
    }

    #[test]
    fn the_key_map_stays_bounded_and_keeps_recent_keys() {
        let s = AuthState::default();
        for i in 0..MAX_KEYS + 10 {
            s.reserve(&[(&format!("k{i}"), 5)]).unwrap();
        }
        let t = s.throttle.lock().unwrap();
        assert!(t.keys.len() <= MAX_KEYS);
        assert!(t.keys.contains_key(&format!("k{}", MAX_KEYS + 9)));
    }

    #[test]
    fn one_password_policy() {
        assert!(check_password("p", "short").is_err());
        assert!(check_password("p", "длинный-пароль").is_ok());
        assert!(check_password("p", &"x".repeat(1025)).is_err());
        assert!(hash_password("1").is_err());
    }
}
