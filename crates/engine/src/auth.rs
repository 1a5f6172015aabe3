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
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// In-memory state of authentication: the login throttle and token-use bookkeeping.
#[derive(Clone, Default)]
pub struct AuthState {
    failures: Arc<Mutex<HashMap<String, Vec<Instant>>>>,
    touched: Arc<Mutex<HashMap<TokenId, Instant>>>,
}

impl AuthState {
    fn check(&self, keys: &[(&str, usize)]) -> Result<(), EngineError> {
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .map_err(|_| EngineError::Internal("login throttle poisoned".into()))?;
        for (key, max) in keys {
            if let Some(v) = map.get_mut(*key) {
                v.retain(|t| now.duration_since(*t) < FAIL_WINDOW);
                if v.len() >= *max {
                    let oldest = v.first().copied().unwrap_or(now);
                    let wait = FAIL_WINDOW.saturating_sub(now.duration_since(oldest));
                    return Err(EngineError::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
            }
        }
        Ok(())
    }
    fn fail(&self, keys: &[&str]) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                // Bound memory under a flood of distinct keys.
                map.clear();
            }
            for k in keys {
                map.entry((*k).to_owned()).or_default().push(Instant::now());
            }
        }
    }
    fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
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

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, EngineError> {
    if password.is_empty() || password.len() > 1024 {
        return Err(EngineError::invalid(
            "password",
            "must have 1 to 1024 bytes",
        ));
    }
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
        let account_key = format!("acct:{workspace}/{email}");
        let addr_key = format!("addr:{addr}");
        self.auth.check(&[
            (&account_key, MAX_FAILS_PER_ACCOUNT),
            (&addr_key, MAX_FAILS_PER_ADDR),
        ])?;
        let found = {
            let mut c = self.store.read().await?;
            match workspaces::by_name(&mut c.conn(), workspace.trim()).await? {
                Some(ws) => people::user_by_email(&mut c.conn(), ws.id, &email).await?,
                None => None,
            }
        };
        let (user, hash) = match found {
            Some((u, Some(h))) if u.active => (Some(u), h),
            // Spend the same effort as a real check so timing does not reveal accounts.
            _ => (None, dummy_hash()),
        };
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let Some(user) = user.filter(|_| ok) else {
            self.auth.fail(&[&account_key, &addr_key]);
            return Err(EngineError::Unauthorized);
        };
        self.auth.clear(&account_key);
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
        let cur = current.to_owned();
        let ok = match stored {
            Some(h) => tokio::task::spawn_blocking(move || verify_password(&cur, &h))
                .await
                .map_err(|e| EngineError::Internal(e.to_string()))?,
            None => false,
        };
        if !ok {
            return Err(EngineError::invalid(
                "current_password",
                "is not the current password",
            ));
        }
        if new.chars().count() < 8 {
            return Err(EngineError::invalid(
                "new_password",
                "must have at least 8 characters",
            ));
        }
        let new = new.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&new))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))??;
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
    fn throttle_blocks_after_the_limit() {
        let s = AuthState::default();
        for _ in 0..3 {
            assert!(s.check(&[("k", 3)]).is_ok());
            s.fail(&["k"]);
        }
        assert!(matches!(
            s.check(&[("k", 3)]),
            Err(EngineError::RateLimited { .. })
        ));
        s.clear("k");
        assert!(s.check(&[("k", 3)]).is_ok());
    }
}
