//! Content-addressed blob storage for attachments: the bytes are stored once under
//! their SHA-256, written to a temporary file, fsync'd and renamed into place, so a
//! blob that exists is always complete. A local directory by default; other
//! backends (S3-compatible) implement [`BlobBackend`].

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Where blob bytes live.
pub trait BlobBackend: Send + Sync + 'static {
    /// Stores the bytes; storing bytes that are already there marks them as used
    /// now, so that [`BlobBackend::remove_if_idle`] leaves them alone.
    fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()>;
    fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>>;
    /// Removes the blob unless it was stored (or stored again) within `idle`;
    /// returns whether it is gone. The caller has checked that no row uses it.
    fn remove_if_idle(&self, sha256: &str, idle: Duration) -> std::io::Result<bool>;
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
            // A collector that saw no use of these bytes must not take them now.
            match std::fs::File::options().write(true).open(&path) {
                Ok(f) => return f.set_modified(file_clock_now()),
                // Collected in between: write it again below.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
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

    fn remove_if_idle(&self, sha: &str, idle: Duration) -> std::io::Result<bool> {
        let path = self.path(sha);
        // Moved aside first, so that a writer storing the same bytes from here on
        // finds no file and writes a fresh one; then the file's age decides.
        let aside = path.with_file_name(format!(".{sha}.{}.collect", std::process::id()));
        match std::fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(e),
        }
        let modified = std::fs::metadata(&aside)?.modified()?;
        let recent = modified.elapsed().map_or(true, |age| age < idle);
        if recent {
            // Stored again while we looked: put it back (a fresh copy holds the
            // same bytes, so replacing one is harmless).
            std::fs::rename(&aside, &path)?;
            return Ok(false);
        }
        std::fs::remove_file(&aside)?;
        Ok(true)
    }
}

/// Now, by the clock file times are kept in (not the store's clock, which tests
/// may move): the collector compares it with the file system's own times.
#[allow(clippy::disallowed_methods)]
fn file_clock_now() -> SystemTime {
    SystemTime::now()
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

    /// Runs `f` on the backend off the runtime, for a well-formed `sha256`.
    async fn with_blob<T: Send + 'static>(
        &self,
        sha256: &str,
        f: impl FnOnce(&dyn BlobBackend, &str) -> std::io::Result<T> + Send + 'static,
    ) -> std::io::Result<T> {
        if !valid_sha(sha256) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a SHA-256",
            ));
        }
        let backend = self.backend.clone();
        let sha = sha256.to_owned();
        tokio::task::spawn_blocking(move || f(backend.as_ref(), &sha))
            .await
            .map_err(std::io::Error::other)?
    }

    /// See [`BlobBackend::remove_if_idle`].
    pub async fn remove_if_idle(&self, sha256: &str, idle: Duration) -> std::io::Result<bool> {
        self.with_blob(sha256, move |b, sha| b.remove_if_idle(sha, idle))
            .await
    }

    pub async fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        self.with_blob(sha256, |b, sha| b.get(sha)).await
    }
}

/// Blob payloads are shared byte slices: a large original is written without
/// another copy of it.
pub mod bytes_like {
    pub type Bytes = bytes::Bytes;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn age(dir: &LocalDir, sha: &str, by: Duration) {
        let f = std::fs::File::options()
            .write(true)
            .open(dir.path(sha))
            .expect("blob file");
        f.set_modified(file_clock_now() - by).expect("set mtime");
    }

    #[test]
    fn idle_blobs_go_and_stored_again_ones_stay() {
        let root = std::env::temp_dir().join(format!("otklik-blob-{}", uuid::Uuid::now_v7()));
        let dir = LocalDir { root: root.clone() };
        let sha = hex(&Sha256::digest(b"bytes"));
        dir.put(&sha, b"bytes").expect("put");
        let hour = Duration::from_secs(3600);
        assert!(
            !dir.remove_if_idle(&sha, hour).expect("fresh"),
            "just stored"
        );
        assert_eq!(dir.get(&sha).expect("still there"), b"bytes");
        // Stored again after a long idle: the second store marks it used.
        age(&dir, &sha, 2 * hour);
        dir.put(&sha, b"bytes").expect("put again");
        assert!(!dir.remove_if_idle(&sha, hour).expect("renewed"));
        age(&dir, &sha, 2 * hour);
        assert!(
            dir.remove_if_idle(&sha, hour).expect("idle"),
            "idle for two hours"
        );
        assert!(dir.get(&sha).is_err());
        assert!(
            dir.remove_if_idle(&sha, hour).expect("gone"),
            "already gone"
        );
        // Nothing is left aside, and the bytes can be stored afresh.
        let leftovers = std::fs::read_dir(dir.path(&sha).parent().expect("dir"))
            .expect("list")
            .count();
        assert_eq!(leftovers, 0);
        dir.put(&sha, b"bytes").expect("store afresh");
        assert_eq!(dir.get(&sha).expect("back"), b"bytes");
        let _ = std::fs::remove_dir_all(root);
    }
}
