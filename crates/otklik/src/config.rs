//! Configuration: defaults, then a TOML file, then `OTKLIK_*` environment variables,
//! then command-line flags. Unknown keys in the file are errors, so a typo cannot
//! silently fall back to a default.

use anyhow::{Context, bail};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything `otklik serve` can be told.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and attachments.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded database.
    pub database_url: Option<domain::secret::Secret>,
    /// `pretty` (default) or `json` logs.
    pub log_format: String,
    /// Database connections (SQLite: readers; PostgreSQL: the pool).
    pub max_connections: u32,
    /// Writes folded into one SQLite commit at most.
    pub max_write_batch: usize,
    /// Mark session cookies Secure (set when serving behind HTTPS).
    pub secure_cookies: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names
    /// the client. Empty: the connecting address is the client, so behind a proxy
    /// every login would count against the proxy's address.
    pub trusted_proxies: Vec<String>,
    /// A bearer token `/metrics` asks for; unset: no token needed.
    pub metrics_token: Option<domain::secret::Secret>,
    /// Addresses or CIDR ranges `/metrics` answers; empty: any.
    pub metrics_allow: Vec<String>,
    /// Background job workers on this node; 0 makes it serve HTTP only (other nodes
    /// on the same PostgreSQL run the jobs).
    pub workers: usize,
    /// Run the event-log consumers on this node. Several nodes may all run them:
    /// a lease gives each consumer to one node at a time.
    pub consumers: bool,
    /// 32 bytes (64 hex digits or base64) that seal stored mail passwords and sign
    /// reply addresses. Unset: a key file in the data directory, created once.
    /// Nodes sharing one PostgreSQL database must share this key.
    pub secret_key: Option<domain::secret::Secret>,
    /// The server's address as customers' messengers reach it
    /// (`https://desk.shop.example`): Telegram, WhatsApp and VK deliver their
    /// webhooks under it. Unset: messenger channels cannot be connected.
    pub public_url: Option<String>,
    pub limits: LimitsConfig,
    pub mail: MailConfig,
}

/// The email channel's server-wide settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Where the built-in SMTP receiver listens (for mailboxes with inbound kind
    /// `smtp`); unset: no receiver.
    pub smtp_listen: Option<SocketAddr>,
    /// The host name the SMTP receiver greets with.
    pub smtp_hostname: String,
    /// Accept self-signed TLS certificates from IMAP and SMTP servers.
    pub accept_invalid_certs: bool,
    /// Seconds between IMAP checks when the server has no IDLE.
    pub imap_poll_seconds: u64,
    /// Read IMAP mailboxes on this node (turn off on HTTP-only nodes).
    pub imap_pollers: bool,
    /// Seconds an IMAP server has to greet, finish TLS or answer a command.
    pub imap_timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_listen: None,
            smtp_hostname: "localhost".into(),
            accept_invalid_certs: false,
            imap_poll_seconds: 60,
            imap_pollers: true,
            imap_timeout_secs: 60,
        }
    }
}

/// Input limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest JSON request body in bytes.
    pub max_body_bytes: usize,
    /// Longest message body in bytes.
    pub max_message_bytes: usize,
    /// Largest attachment in bytes.
    pub max_attachment_bytes: usize,
    /// Largest inbound email in bytes.
    pub max_email_bytes: usize,
    /// Most automatic replies to one sender in an hour.
    pub auto_replies_per_hour: i64,
    /// Seconds a chat reply may stay unread before it also goes to the
    /// visitor's email address.
    pub chat_email_after_secs: u64,
    /// Seconds a client has to send a request's headers.
    pub header_timeout_secs: u64,
    /// Seconds open connections and background tasks get to finish after a
    /// shutdown signal.
    pub shutdown_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let e = engine::Limits::default();
        LimitsConfig {
            max_body_bytes: 2 * 1024 * 1024,
            max_message_bytes: e.max_message_bytes,
            max_attachment_bytes: e.max_attachment_bytes,
            max_email_bytes: e.max_email_bytes,
            auto_replies_per_hour: e.auto_replies_per_hour,
            chat_email_after_secs: u64::try_from(e.chat_email_after_ms / 1000).unwrap_or(120),
            header_timeout_secs: 10,
            shutdown_secs: 10,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./otklik-data"),
            database_url: None,
            log_format: "pretty".into(),
            max_connections: 8,
            max_write_batch: 256,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            metrics_token: None,
            public_url: None,
            metrics_allow: Vec::new(),
            workers: 1,
            consumers: true,
            secret_key: None,
            limits: LimitsConfig::default(),
            mail: MailConfig::default(),
        }
    }
}

/// The environment variables `Config::load` reads: variable, file key, meaning.
pub const ENV_VARS: &[(&str, &str, &str)] = &[
    (
        "OTKLIK_CONFIG",
        "",
        "the TOML configuration file (keys below)",
    ),
    (
        "OTKLIK_LISTEN",
        "listen",
        "address to listen on [127.0.0.1:8080]",
    ),
    (
        "OTKLIK_DATA_DIR",
        "data_dir",
        "embedded database and attachments [./otklik-data]",
    ),
    (
        "DATABASE_URL, OTKLIK_DATABASE_URL",
        "database_url",
        "postgres://… to use PostgreSQL [unset: SQLite]",
    ),
    (
        "OTKLIK_LOG_FORMAT",
        "log_format",
        "pretty or json [pretty]; OTKLIK_LOG sets the filter",
    ),
    (
        "OTKLIK_MAX_CONNECTIONS",
        "max_connections",
        "database connections (SQLite readers) [8]",
    ),
    (
        "OTKLIK_MAX_WRITE_BATCH",
        "max_write_batch",
        "writes folded into one SQLite commit at most [256]",
    ),
    (
        "OTKLIK_SECURE_COOKIES",
        "secure_cookies",
        "mark session cookies Secure, behind HTTPS [false]",
    ),
    (
        "OTKLIK_PUBLIC_URL",
        "public_url",
        "the server's public https:// address, for messengers' webhooks [unset]",
    ),
    (
        "OTKLIK_METRICS_TOKEN",
        "metrics_token",
        "bearer token /metrics asks for [none]",
    ),
    (
        "OTKLIK_METRICS_ALLOW",
        "metrics_allow",
        "comma-separated addresses or CIDR ranges /metrics answers [any]",
    ),
    (
        "OTKLIK_TRUSTED_PROXIES",
        "trusted_proxies",
        "comma-separated proxy addresses or CIDR ranges trusted for X-Forwarded-For [none]",
    ),
    (
        "OTKLIK_WORKERS",
        "workers",
        "background job workers; 0 = HTTP only [1]",
    ),
    (
        "OTKLIK_CONSUMERS",
        "consumers",
        "run the event-log consumers on this node [true]",
    ),
    (
        "OTKLIK_SECRET_KEY",
        "secret_key",
        "32-byte key (hex or base64) sealing mail passwords [a key file in data_dir]",
    ),
    (
        "OTKLIK_SMTP_LISTEN",
        "mail.smtp_listen",
        "address of the built-in SMTP receiver [unset: off]",
    ),
    (
        "OTKLIK_SMTP_HOSTNAME",
        "mail.smtp_hostname",
        "host name in the SMTP greeting [localhost]",
    ),
    (
        "OTKLIK_MAIL_ACCEPT_INVALID_CERTS",
        "mail.accept_invalid_certs",
        "accept self-signed IMAP/SMTP certificates [false]",
    ),
    (
        "OTKLIK_IMAP_POLL_SECONDS",
        "mail.imap_poll_seconds",
        "seconds between IMAP checks without IDLE [60]",
    ),
    (
        "OTKLIK_IMAP_POLLERS",
        "mail.imap_pollers",
        "read IMAP mailboxes on this node [true]",
    ),
    (
        "OTKLIK_MAX_BODY_BYTES",
        "limits.max_body_bytes",
        "largest JSON request body [2097152]",
    ),
    (
        "OTKLIK_MAX_MESSAGE_BYTES",
        "limits.max_message_bytes",
        "longest message body [262144]",
    ),
    (
        "OTKLIK_MAX_ATTACHMENT_BYTES",
        "limits.max_attachment_bytes",
        "largest attachment [26214400]",
    ),
    (
        "OTKLIK_MAX_EMAIL_BYTES",
        "limits.max_email_bytes",
        "largest inbound email [41943040]",
    ),
    (
        "OTKLIK_AUTO_REPLIES_PER_HOUR",
        "limits.auto_replies_per_hour",
        "automatic replies to one sender per hour [3]",
    ),
    (
        "OTKLIK_CHAT_EMAIL_AFTER_SECS",
        "limits.chat_email_after_secs",
        "seconds an unread chat reply waits before it also goes by email [120]",
    ),
];

fn ranges(setting: &str, list: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.iter()
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("{setting}: {p:?} is neither an address nor a CIDR range")
                })
        })
        .collect()
}

fn env_parse<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    slot: &mut T,
) -> anyhow::Result<()>
where
    T::Err: std::fmt::Display,
{
    if let Some(v) = env(name) {
        *slot = v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}"))?;
    }
    Ok(())
}

impl Config {
    /// Defaults ← `file` (if any) ← environment (read through `env`).
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Config> {
        let mut c = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str::<Config>(&text).with_context(|| format!("in {}", p.display()))?
            }
            None => Config::default(),
        };
        env_parse(env, "OTKLIK_LISTEN", &mut c.listen)?;
        if let Some(d) = env("OTKLIK_DATA_DIR") {
            c.data_dir = PathBuf::from(d);
        }
        if let Some(u) = env("OTKLIK_DATABASE_URL")
            .or_else(|| env("DATABASE_URL"))
            .filter(|u| !u.trim().is_empty())
        {
            c.database_url = Some(u.into());
        }
        if let Some(f) = env("OTKLIK_LOG_FORMAT") {
            c.log_format = f;
        }
        env_parse(env, "OTKLIK_MAX_CONNECTIONS", &mut c.max_connections)?;
        env_parse(env, "OTKLIK_MAX_WRITE_BATCH", &mut c.max_write_batch)?;
        env_parse(env, "OTKLIK_SECURE_COOKIES", &mut c.secure_cookies)?;
        if let Some(v) = env("OTKLIK_PUBLIC_URL").filter(|v| !v.trim().is_empty()) {
            c.public_url = Some(v.trim().to_owned());
        }
        if let Some(v) = env("OTKLIK_METRICS_TOKEN").filter(|v| !v.is_empty()) {
            c.metrics_token = Some(v.into());
        }
        if let Some(v) = env("OTKLIK_METRICS_ALLOW") {
            c.metrics_allow = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = env("OTKLIK_TRUSTED_PROXIES") {
            c.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
        }
        env_parse(env, "OTKLIK_WORKERS", &mut c.workers)?;
        env_parse(env, "OTKLIK_CONSUMERS", &mut c.consumers)?;
        env_parse(env, "OTKLIK_MAX_BODY_BYTES", &mut c.limits.max_body_bytes)?;
        env_parse(
            env,
            "OTKLIK_MAX_MESSAGE_BYTES",
            &mut c.limits.max_message_bytes,
        )?;
        env_parse(
            env,
            "OTKLIK_MAX_ATTACHMENT_BYTES",
            &mut c.limits.max_attachment_bytes,
        )?;
        if let Some(k) = env("OTKLIK_SECRET_KEY").filter(|k| !k.trim().is_empty()) {
            c.secret_key = Some(k.into());
        }
        if let Some(a) = env("OTKLIK_SMTP_LISTEN").filter(|a| !a.trim().is_empty()) {
            c.mail.smtp_listen = Some(
                a.trim()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("OTKLIK_SMTP_LISTEN={a:?}: {e}"))?,
            );
        }
        if let Some(h) = env("OTKLIK_SMTP_HOSTNAME") {
            c.mail.smtp_hostname = h;
        }
        env_parse(
            env,
            "OTKLIK_MAIL_ACCEPT_INVALID_CERTS",
            &mut c.mail.accept_invalid_certs,
        )?;
        env_parse(
            env,
            "OTKLIK_IMAP_POLL_SECONDS",
            &mut c.mail.imap_poll_seconds,
        )?;
        env_parse(env, "OTKLIK_MAX_EMAIL_BYTES", &mut c.limits.max_email_bytes)?;
        env_parse(
            env,
            "OTKLIK_AUTO_REPLIES_PER_HOUR",
            &mut c.limits.auto_replies_per_hour,
        )?;
        env_parse(
            env,
            "OTKLIK_CHAT_EMAIL_AFTER_SECS",
            &mut c.limits.chat_email_after_secs,
        )?;
        c.validate()?;
        Ok(c)
    }

    /// The trusted proxies, parsed: a bare address is a range of one.
    pub fn proxies(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        ranges("trusted_proxies", &self.trusted_proxies)
    }

    /// The addresses `/metrics` answers.
    pub fn metrics_ranges(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        ranges("metrics_allow", &self.metrics_allow)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.log_format.as_str(), "pretty" | "json") {
            bail!(
                "log_format must be pretty or json, not {:?}",
                self.log_format
            );
        }
        if self.max_connections == 0 || self.max_connections > 1000 {
            bail!("max_connections must be 1 to 1000");
        }
        if self.workers > 64 {
            bail!("workers must be 0 to 64");
        }
        self.proxies()?;
        self.metrics_ranges()?;
        if let Some(u) = &self.public_url {
            let ok = u.len() <= 300
                && reqwest::Url::parse(u).is_ok_and(|p| {
                    matches!(p.scheme(), "http" | "https")
                        && p.host_str().is_some()
                        && p.query().is_none()
                        && p.fragment().is_none()
                });
            if !ok {
                bail!("public_url must be an http(s) address such as https://desk.shop.example");
            }
        }
        if self.max_write_batch == 0 {
            bail!("max_write_batch must be at least 1");
        }
        if let Some(u) = &self.database_url
            && !(u.expose().starts_with("postgres://") || u.expose().starts_with("postgresql://"))
        {
            bail!(
                "database_url must start with postgres:// (leave it unset for the embedded database)"
            );
        }
        if self.limits.max_body_bytes < 1024
            || self.limits.max_message_bytes < 1024
            || self.limits.max_attachment_bytes < 1024
        {
            bail!("limits must be at least 1024 bytes each");
        }
        if !(1..=300).contains(&self.limits.header_timeout_secs)
            || !(1..=300).contains(&self.limits.shutdown_secs)
        {
            bail!("limits.header_timeout_secs and limits.shutdown_secs must be 1 to 300");
        }
        if self.limits.max_email_bytes < 64 * 1024 {
            bail!("limits.max_email_bytes must be at least 65536");
        }
        if self.limits.auto_replies_per_hour < 0 {
            bail!("limits.auto_replies_per_hour must not be negative");
        }
        if !(1..=600).contains(&self.mail.imap_timeout_secs) {
            bail!("mail.imap_timeout_secs must be 1 to 600");
        }
        if self.mail.imap_poll_seconds == 0 || self.mail.imap_poll_seconds > 86_400 {
            bail!("mail.imap_poll_seconds must be 1 to 86400");
        }
        if let Some(k) = &self.secret_key
            && engine::secret::SecretKey::parse(k.expose()).is_none()
        {
            bail!(
                "secret_key must be 32 bytes as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)"
            );
        }
        Ok(())
    }

    pub fn store_options(&self) -> store::StoreOptions {
        store::StoreOptions {
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
            max_connections: self.max_connections,
            max_batch: self.max_write_batch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("otklik.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\nmax_connections = 4\n[limits]\nmax_body_bytes = 4096\n",
        )
        .unwrap();
        let env: HashMap<&str, &str> = [
            ("OTKLIK_MAX_CONNECTIONS", "16"),
            ("DATABASE_URL", "postgres://x@localhost/db"),
        ]
        .into();
        let get = |k: &str| env.get(k).map(|v| v.to_string());
        let c = Config::load(Some(&f), &get).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_connections, 16);
        assert_eq!(c.limits.max_body_bytes, 4096);
        assert_eq!(
            c.database_url.as_ref().map(|u| u.expose()),
            Some("postgres://x@localhost/db")
        );

        std::fs::write(&f, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let err = Config::load(Some(&f), &|_| None).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field"), "{err:#}");

        let bad = |k: &str| (k == "OTKLIK_MAX_CONNECTIONS").then(|| "many".to_string());
        assert!(Config::load(None, &bad).is_err());
        let mysql = |k: &str| (k == "DATABASE_URL").then(|| "mysql://x".to_string());
        assert!(Config::load(None, &mysql).is_err());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let env = |k: &str| {
            (k == "OTKLIK_TRUSTED_PROXIES").then(|| "10.0.0.0/8, 127.0.0.1 ,::1".to_string())
        };
        let c = Config::load(None, &env).unwrap();
        let p = c.proxies().unwrap();
        assert_eq!(p.len(), 3);
        assert!(p[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        let bad = |k: &str| (k == "OTKLIK_TRUSTED_PROXIES").then(|| "proxy.local".to_string());
        assert!(Config::load(None, &bad).is_err());
    }
}
