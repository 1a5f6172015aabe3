//! Content-addressed blob storage for attachments: the bytes are stored once under
//! their SHA-256, written to a temporary file, fsync'd and renamed into place, so a
//! blob that exists is always complete. A local directory by default; other
//! backends (S3-compatible) implement [`BlobBackend`].

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Where blob bytes live.
pub trait BlobBackend: Send + Sync + 'static {
    fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()>;
    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>>;
}

/// Blobs in a local directory, fanned out as `ab/cd/abcd…`.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    fn path(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[0..2]).join(&sha[2..4]).join(sha)
    }
}

impl BlobBackend for LocalDir {
    fn put(&self, sha: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha);
        if path.exists() {
            return Ok(());
        }
        let dir = path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&dir)?;
        // Unique per writer: two requests may store the same bytes at once.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".{sha}.{}.{n}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    }

    fn get(&self, sha: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.path(sha))
    }
}

/// The blob store the rest of Otklik uses.
#[derive(Clone)]
pub struct BlobStore {
    backend: Arc<dyn BlobBackend>,
}

fn valid_sha(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BlobStore {
    pub fn open(root: PathBuf) -> std::io::Result<BlobStore> {
        std::fs::create_dir_all(&root)?;
        Ok(BlobStore {
            backend: Arc::new(LocalDir { root }),
        })
    }

    pub fn with_backend(backend: Arc<dyn BlobBackend>) -> BlobStore {
        BlobStore { backend }
    }

    /// Stores the bytes durably; returns their SHA-256 in hex.
    pub async fn put(&self, bytes: bytes_like::Bytes) -> std::io::Result<String> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || {
            let sha = hex(&Sha256::digest(&bytes));
            backend.put(&sha, &bytes).map(|_| sha)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    pub async fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        if !valid_sha(sha256) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a SHA-256",
            ));
        }
        let backend = self.backend.clone();
        let sha = sha256.to_owned();
        tokio::task::spawn_blocking(move || backend.get(&sha))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Blob payloads are shared byte slices: a large original is written without
/// another copy of it.
pub mod bytes_like {
    pub type Bytes = std::sync::Arc<[u8]>;
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
