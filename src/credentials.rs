//! Delegated credentials.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::fs;
use std::hash::{BuildHasher as _, Hasher as _};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
/// use actix_web::{error, web};
///
/// async fn reach_backend(id: KerberosIdentity) -> actix_web::Result<String> {
///     let Some(creds) = id.delegated_credentials().cloned() else {
///         return Ok("no delegated credential: ask the client to delegate".to_owned());
///     };
///     let principal = web::block(move || -> Result<String, actix_gssapi::Error> {
///         // This request's own cache, under a name no other request uses; destroyed when
///         // `cache` goes out of scope.
///         let cache = creds.store_in_memory()?;
///         // ... point a GSSAPI client at cache.name() and call the back-end as the user ...
///         Ok(cache.name().to_owned())
///     })
///     .await?
///     .map_err(error::ErrorInternalServerError)?;
///     Ok(format!("acted as {} through {principal}", id.principal()))
/// }
/// ```
///
/// Never store two users' credentials under one fixed name: a credential cache name is
/// shared by the whole process (`MEMORY:`) or machine (`FILE:`, `DIR:`), so with a fixed name
/// concurrent requests overwrite each other's credentials, and one user's request ends up
/// acting as another. [`store_in_memory`](Self::store_in_memory) and
/// [`store_private`](Self::store_private) pick a fresh name per call and clean up.
#[derive(Clone)]
pub struct Credentials {
    inner: DelegatedCred,
    /// The cache outbound calls use (`crate::outbound`), made on the first one and shared by
    /// every clone: service tickets the KDC issues land in it, so a second call to the same
    /// back end asks the KDC nothing.
    outbound: Arc<Mutex<Option<Arc<OutboundCache>>>>,
}

impl Credentials {
    pub(crate) fn new(inner: DelegatedCred) -> Self {
        Self {
            inner,
            outbound: Arc::default(),
        }
    }

    /// The cache of [`Credentials::outbound`], made now if this is the first call.
    pub(crate) fn outbound_cache(&self) -> Result<Arc<OutboundCache>, Error> {
        let mut cache = self.outbound.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cache) = &*cache {
            return Ok(Arc::clone(cache));
        }
        let made = Arc::new(if crate::gssproxy::in_use() {
            OutboundCache::File(self.store_private()?)
        } else {
            OutboundCache::Memory(self.store_in_memory()?)
        });
        *cache = Some(Arc::clone(&made));
        Ok(made)
    }

    /// Writes the credential into the credential cache named `ccache`, replacing what it held.
    ///
    /// Any cache type the Kerberos library knows works: `FILE:/path` (or a bare path),
    /// `DIR:/path`, `MEMORY:name`, `KEYRING:...`. The cache is initialised for the delegating
    /// user and holds their forwarded TGT, so `klist -c`, `kvno`, `curl --negotiate` or any
    /// GSSAPI client pointed at it acts as that user until the ticket expires.
    ///
    /// The name must be this request's alone: a name used by two requests at once mixes
    /// their users. Prefer [`store_in_memory`](Self::store_in_memory) or
    /// [`store_private`](Self::store_private), which pick fresh names and clean up; a cache you
    /// name here is yours to delete (a `MEMORY:` one lives until the process exits).
    ///
    /// A cache is a bearer secret, so
    /// - a `FILE:` cache is written into a fresh private directory beside the target and
    ///   renamed into place: the file is created with mode `0600`, and a symlink planted at
    ///   the target path is replaced, never followed; a file owned by another user is not
    ///   replaced;
    /// - a `DIR:` collection must be a directory (not a symlink) owned by this process's user
    ///   and not writable by group or others; one that does not exist is created with mode
    ///   `0700`.
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
        if let Some(dir) = dir_ccache_dir(ccache) {
            check_private_dir(dir).map_err(fail)?;
        }
        match file_ccache_path(ccache) {
            Some(path) => self.store_file(Path::new(path)).map_err(fail),
            None => self
                .inner
                .store_into(ccache)
                .map_err(|e| fail(e.to_string())),
        }
    }

    /// Writes the credential into a new in-memory cache (`MEMORY:`) with a name no other call
    /// uses, and returns a guard that destroys the cache when dropped.
    ///
    /// Nothing touches the disk. The cache is visible to this process only, to GSSAPI and
    /// Kerberos calls made with its [`name`](MemoryCcache::name) (not to other programs: use
    /// [`store_private`](Self::store_private) to run `kvno` or `curl`).
    ///
    /// # Errors
    /// [`ErrorKind::CredentialStore`] when the cache cannot be written, and always when
    /// gssproxy is in use (`GSS_USE_PROXY`): its interposer writes into a memory cache of its
    /// own choosing instead; [`store_private`](Self::store_private) works
    /// ([keytab guide](crate::guide::keytab#keeping-the-keytab-in-gssproxy)).
    pub fn store_in_memory(&self) -> Result<MemoryCcache, Error> {
        if crate::gssproxy::in_use() {
            // Measured with Debian's gssproxy 0.9.1 (tests/gssproxy.rs): its interposer writes
            // a credential gssproxy holds into a new memory cache of its own choosing, not the
            // named one, which then holds nothing.
            return Err(Error::new(
                ErrorKind::CredentialStore,
                "cannot store the delegated credential in memory: gssproxy is in use \
                 (GSS_USE_PROXY), whose interposer does not write into a named MEMORY: cache; \
                 use store_private",
            ));
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // The counter makes the name unique in the process; the random part keeps other code
        // from guessing it.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(n);
        let name = format!("MEMORY:actix-gssapi-{n}-{:016x}", hasher.finish());
        // The guard exists before the store, so a half-written cache is destroyed too.
        let cache = MemoryCcache { name };
        self.inner.store_into(&cache.name).map_err(|e| {
            Error::new(
                ErrorKind::CredentialStore,
                format!("cannot store the delegated credential in memory: {e}"),
            )
        })?;
        Ok(cache)
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

/// The cache of a credential's outbound calls: in memory, or a private file when gssproxy is
/// in use (see [`Credentials::store_in_memory`]); it then holds gssproxy's encrypted handle of
/// the credential, not the credential.
#[derive(Debug)]
pub(crate) enum OutboundCache {
    Memory(MemoryCcache),
    File(PrivateCcache),
}

impl OutboundCache {
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Memory(c) => c.name(),
            Self::File(c) => c.name(),
        }
    }
}

/// An in-memory credential cache made by [`Credentials::store_in_memory`]; destroyed when
/// dropped.
#[derive(Debug)]
pub struct MemoryCcache {
    name: String,
}

impl MemoryCcache {
    /// The cache's name for a GSSAPI cred store (`ccache`) or `KRB5CCNAME` in this process:
    /// `MEMORY:actix-gssapi-...`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MemoryCcache {
    fn drop(&mut self) {
        if let Err(e) = crate::krb5::destroy_ccache(&self.name) {
            log::warn!("cannot destroy the in-memory credential cache: {e}");
        }
    }
}

/// The directory of a `DIR:` collection (`DIR:/d`) or of one of its caches (`DIR::/d/tktX`).
fn dir_ccache_dir(ccache: &str) -> Option<&Path> {
    let residual = ccache.strip_prefix("DIR:")?;
    Some(match residual.strip_prefix(':') {
        Some(file) => Path::new(file).parent().unwrap_or(Path::new(".")),
        None => Path::new(residual),
    })
}

/// Refuses a directory others could write caches into or read them from; creates a missing one
/// with mode 0700.
fn check_private_dir(dir: &Path) -> Result<(), String> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return fs::DirBuilder::new()
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()));
        }
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    if meta.file_type().is_symlink() {
        return Err(format!("{} is a symlink; not following it", dir.display()));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let ours = crate::sys::effective_uid();
    if meta.uid() != ours {
        return Err(format!(
            "{} belongs to another user (uid {}); not writing into it",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {:o}); not writing into it",
            dir.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
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
    fn dir_cache_names() {
        assert_eq!(dir_ccache_dir("DIR:/tmp/d"), Some(Path::new("/tmp/d")));
        assert_eq!(
            dir_ccache_dir("DIR::/tmp/d/tktA"),
            Some(Path::new("/tmp/d"))
        );
        assert_eq!(dir_ccache_dir("FILE:/tmp/d"), None);
        assert_eq!(dir_ccache_dir("MEMORY:x"), None);
    }

    #[test]
    fn private_dir_checks() {
        let parent = private_dir(&std::env::temp_dir()).unwrap();
        let fresh = parent.join("fresh");
        assert_eq!(check_private_dir(&fresh), Ok(()));
        let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "a missing directory is created private");
        assert_eq!(check_private_dir(&fresh), Ok(()));
        for mode in [0o770, 0o707, 0o777, 0o1777] {
            fs::set_permissions(&fresh, fs::Permissions::from_mode(mode)).unwrap();
            let err = check_private_dir(&fresh).unwrap_err();
            assert!(
                err.contains("writable by group or others"),
                "{mode:o}: {err}"
            );
        }
        let link = parent.join("link");
        std::os::unix::fs::symlink(&fresh, &link).unwrap();
        assert!(check_private_dir(&link).unwrap_err().contains("symlink"));
        let file = parent.join("file");
        fs::write(&file, "").unwrap();
        assert!(check_private_dir(&file)
            .unwrap_err()
            .contains("not a directory"));
        fs::remove_dir_all(parent).unwrap();
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
