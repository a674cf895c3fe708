//! Delegated credentials.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::acceptor::DelegatedCred;
use crate::error::{Error, ErrorKind};

/// A Kerberos credential that the client delegated to this server (a forwarded TGT).
///
/// With it, the server can reach the *next* service as the user: another HTTP API, a database,
/// a file server. Export it to a credential cache with [`store_into`](Self::store_into) and
/// point the other client at that cache (`KRB5CCNAME`, or a GSSAPI cred store).
///
/// A client delegates only when it is asked to and its ticket is forwardable: `curl
/// --negotiate --delegation always`, browsers for hosts in their delegation list (Firefox
/// `network.negotiate-auth.delegation-uris`), `requests-gssapi` with `delegate=True`.
///
/// `Credentials` is `Send + Sync` and cheap to clone (a reference-counted GSSAPI handle); the
/// handle is released when the last clone is dropped.
///
/// ```no_run
/// use actix_gssapi::KerberosIdentity;
///
/// async fn reach_backend(id: KerberosIdentity) -> actix_web::Result<String> {
///     let Some(creds) = id.delegated_credentials() else {
///         return Ok("no delegated credential: ask the client to delegate".to_owned());
///     };
///     creds
///         .store_into("MEMORY:backend-call")
///         .map_err(actix_web::error::ErrorInternalServerError)?;
///     Ok(format!("can act as {}", id.principal()))
/// }
/// ```
#[derive(Clone)]
pub struct Credentials {
    inner: DelegatedCred,
}

impl Credentials {
    pub(crate) fn new(inner: DelegatedCred) -> Self {
        Self { inner }
    }

    /// Writes the credential into the credential cache named `ccache`, replacing what it held.
    ///
    /// Any cache type the Kerberos library knows works: `FILE:/path` (or a bare path),
    /// `DIR:/path`, `MEMORY:name`, `KEYRING:...`. The cache is initialised for the delegating
    /// user and holds their forwarded TGT, so `klist -c`, `kvno`, `curl --negotiate` or any
    /// GSSAPI client pointed at it acts as that user until the ticket expires.
    ///
    /// A `FILE:` cache is a bearer secret, so for those this method
    /// - writes the cache into a fresh private directory beside the target and renames it into
    ///   place: the file is created with mode `0600`, and a symlink planted at the target path
    ///   is replaced, never followed;
    /// - refuses to replace a file owned by another user.
    ///
    /// Prefer [`store_private`](Self::store_private), which also picks an unpredictable path
    /// in a directory only this process's user can enter.
    ///
    /// This does file I/O; from async code, call it inside [`actix_web::web::block`].
    ///
    /// # Errors
    /// [`ErrorKind::CredentialStore`] when the cache cannot be written (bad name, no
    /// permission, unknown cache type, another user's file); the message says why.
    pub fn store_into(&self, ccache: &str) -> Result<(), Error> {
        let fail = |why: String| {
            Error::new(
                ErrorKind::CredentialStore,
                format!("cannot store the delegated credential into {ccache}: {why}"),
            )
        };
        match file_ccache_path(ccache) {
            Some(path) => self.store_file(Path::new(path)).map_err(fail),
            None => self
                .inner
                .store_into(ccache)
                .map_err(|e| fail(e.to_string())),
        }
    }

    /// Writes the credential into a new `FILE:` cache at an unpredictable path, in a fresh
    /// directory (mode `0700`) under the system's temporary directory, and returns a guard
    /// that removes both when dropped.
    ///
    /// ```no_run
    /// # fn f(creds: &actix_gssapi::Credentials) -> Result<(), actix_gssapi::Error> {
    /// let cache = creds.store_private()?;
    /// let status = std::process::Command::new("kvno")
    ///     .env("KRB5CCNAME", cache.name())
    ///     .arg("HTTP/backend.example.test")
    ///     .status();
    /// // `cache` is removed here.
    /// # Ok(()) }
    /// ```
    ///
    /// This does file I/O; from async code, call it inside [`actix_web::web::block`].
    ///
    /// # Errors
    /// [`ErrorKind::CredentialStore`] when the directory or the cache cannot be written.
    pub fn store_private(&self) -> Result<PrivateCcache, Error> {
        self.store_private_in(&std::env::temp_dir())
    }

    /// Like [`store_private`](Self::store_private), in a fresh directory under `parent`.
    ///
    /// # Errors
    /// As [`store_private`](Self::store_private).
    pub fn store_private_in(&self, parent: &Path) -> Result<PrivateCcache, Error> {
        let fail = |why: String| {
            Error::new(
                ErrorKind::CredentialStore,
                format!(
                    "cannot store the delegated credential under {}: {why}",
                    parent.display()
                ),
            )
        };
        let dir = private_dir(parent).map_err(|e| fail(e.to_string()))?;
        let path = dir.join("ccache");
        let cache = PrivateCcache {
            name: format!("FILE:{}", path.display()),
            path,
            dir,
        };
        self.inner
            .store_into(&cache.name)
            .map_err(|e| fail(e.to_string()))?;
        fs::set_permissions(&cache.path, fs::Permissions::from_mode(0o600))
            .map_err(|e| fail(e.to_string()))?;
        Ok(cache)
    }

    fn store_file(&self, target: &Path) -> Result<(), String> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // Staged in the target's own directory, so the final rename stays on one filesystem.
        let staging = private_dir(parent).map_err(|e| format!("staging directory: {e}"))?;
        let result = (|| {
            let staged = staging.join("ccache");
            self.inner
                .store_into(&format!("FILE:{}", staged.display()))
                .map_err(|e| e.to_string())?;
            fs::set_permissions(&staged, fs::Permissions::from_mode(0o600))
                .map_err(|e| e.to_string())?;
            let ours = fs::metadata(&staged).map_err(|e| e.to_string())?.uid();
            match fs::symlink_metadata(target) {
                Ok(existing) if !existing.file_type().is_symlink() && existing.uid() != ours => {
                    return Err(format!(
                        "{} belongs to another user (uid {}); not replacing it",
                        target.display(),
                        existing.uid()
                    ));
                }
                Ok(existing) if existing.is_dir() => {
                    return Err(format!("{} is a directory", target.display()));
                }
                _ => {}
            }
            // rename(2) replaces a symlink at `target` itself and never writes through it.
            fs::rename(&staged, target).map_err(|e| e.to_string())
        })();
        let _ = fs::remove_dir_all(&staging);
        result
    }

    /// The principal that delegated the credential, e.g. `alice@EXAMPLE.TEST`.
    pub fn principal(&self) -> Option<String> {
        self.inner.principal().ok()
    }

    /// How much longer the delegated ticket is valid; `None` if GSSAPI cannot tell (or it has
    /// expired).
    pub fn lifetime(&self) -> Option<Duration> {
        self.inner.lifetime().ok()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal())
            .field("lifetime", &self.lifetime())
            .finish()
    }
}

/// A credential cache file made by [`Credentials::store_private`]; removed (with its private
/// directory) when dropped.
#[derive(Debug)]
pub struct PrivateCcache {
    name: String,
    path: PathBuf,
    dir: PathBuf,
}

impl PrivateCcache {
    /// The cache's name for `KRB5CCNAME` or a GSSAPI cred store: `FILE:/tmp/.../ccache`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cache file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateCcache {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `FILE:/x` and bare paths are file caches (MIT's default type); other prefixes are not.
fn file_ccache_path(ccache: &str) -> Option<&str> {
    if let Some(path) = ccache.strip_prefix("FILE:") {
        return Some(path);
    }
    match ccache.split_once(':') {
        // "TYPE:residual" with a type name: not a file cache.
        Some((kind, _)) if !kind.is_empty() && !kind.contains('/') => None,
        _ => Some(ccache),
    }
}

/// Creates a new directory with mode 0700 and an unpredictable name under `parent`.
/// `mkdir` fails on an existing name (a planted directory or symlink), so it is ours.
fn private_dir(parent: &Path) -> io::Result<PathBuf> {
    for _ in 0..16 {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        let dir = parent.join(format!(".krb5cc-actix-gssapi-{:016x}", hasher.finish()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no fresh directory name after 16 tries",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_cache_names() {
        assert_eq!(file_ccache_path("FILE:/tmp/x"), Some("/tmp/x"));
        assert_eq!(file_ccache_path("/tmp/x"), Some("/tmp/x"));
        assert_eq!(file_ccache_path("relative/x"), Some("relative/x"));
        assert_eq!(file_ccache_path("MEMORY:abc"), None);
        assert_eq!(file_ccache_path("DIR:/tmp/d"), None);
        assert_eq!(file_ccache_path("KEYRING:persistent:0"), None);
    }

    #[test]
    fn private_dirs_are_fresh_and_0700() {
        let parent = std::env::temp_dir();
        let a = private_dir(&parent).unwrap();
        let b = private_dir(&parent).unwrap();
        assert_ne!(a, b);
        let mode = fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        fs::remove_dir(a).unwrap();
        fs::remove_dir(b).unwrap();
    }
}
