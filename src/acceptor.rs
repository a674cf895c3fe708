//! The GSSAPI boundary: acquire the acceptor credential once, accept one token per request.
//!
//! With `krb5.rs` (libkrb5) and `sys.rs` (libc), one of the three modules with `unsafe` code,
//! one per C library: the GSSAPI calls the safe `libgssapi` layer does not wrap the way we
//! need (`gss_acquire_cred_from`, `gss_accept_sec_context` with its outputs,
//! `gss_display_name`, `gss_get_name_attribute`, `gss_import_name`; for password logins
//! `gss_acquire_cred_with_password` and `gss_init_sec_context`; for outbound calls an
//! initiator credential from a cache and libgssapi's client context). Of the library's own
//! modules it is the only one that sees `libgssapi` types (the `actix-gssapi-testing` crate's
//! client uses them too, on its own); the rest of the crate gets plain Rust values from it.

#![allow(unsafe_code)]

use std::ffi::{c_void, CString};
use std::fmt;
use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::failure::GssFailure;
use crate::groups::{Group, LookupError};
use crate::gssproxy::Gssproxy;
use crate::krb5::MemoryKeytab;
use crate::pac::PacBytes;
use crate::password::PasswordFailure;
use crate::service_name::{ServiceName, VerifyTarget};
use libgssapi::context::{ClientCtx, CtxFlags, SecurityContext as _};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::error::{Error as GssError, MajorFlags};
use libgssapi::name::Name;
use libgssapi::oid::{
    GSS_MECH_KRB5, GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL,
};
use libgssapi_sys::{
    gss_OID, gss_OID_set, gss_accept_sec_context, gss_acquire_cred_from, gss_buffer_desc,
    gss_cred_id_t, gss_cred_usage_t, gss_ctx_id_t, gss_delete_sec_context, gss_display_name,
    gss_display_status, gss_get_name_attribute, gss_import_name, gss_inquire_context,
    gss_key_value_element_desc, gss_key_value_set_desc, gss_localname, gss_name_t,
    gss_release_buffer, gss_release_cred, gss_release_name, OM_uint32, _GSS_C_INDEFINITE,
    _GSS_S_CONTINUE_NEEDED, GSS_C_ACCEPT, GSS_C_ANON_FLAG, GSS_C_BOTH, GSS_C_DELEG_FLAG,
    GSS_C_GSS_CODE, GSS_C_MECH_CODE, GSS_C_NT_ANONYMOUS, GSS_C_NT_HOSTBASED_SERVICE,
    GSS_C_NT_USER_NAME, GSS_S_COMPLETE,
};
use libgssapi_sys::{gss_channel_bindings_struct, GSS_C_AF_UNSPEC, GSS_C_CHANNEL_BOUND_FLAG};

impl GssFailure {
    /// The failure GSSAPI reported, with the text of its status codes (read now, on the
    /// thread that got them: MIT keeps a minor code's details per thread).
    fn from_gss(e: &GssError) -> Self {
        let major = display_status(e.major.bits(), GSS_C_GSS_CODE);
        let minor = display_status(e.minor, GSS_C_MECH_CODE);
        Self::from_status(e.major.bits(), &major, e.minor, &minor)
    }
}

/// `gss_display_status` of one major (`GSS_C_GSS_CODE`) or minor (`GSS_C_MECH_CODE`) status:
/// its messages, joined with `; `.
fn display_status(code: OM_uint32, kind: u32) -> String {
    let mut text = String::new();
    let mut context: OM_uint32 = 0;
    loop {
        let mut minor: OM_uint32 = 0;
        let mut buf = RawBuffer::empty();
        // SAFETY: every pointer is to a local; the buffer GSSAPI fills is released by `buf`'s
        // drop; a null mechanism OID means "the mechanism that produced the code".
        let major = unsafe {
            gss_display_status(
                &mut minor,
                code,
                kind as c_int,
                ptr::null_mut(),
                &mut context,
                &mut buf.0,
            )
        };
        if major & GSS_ERROR_MASK != 0 {
            break;
        }
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&String::from_utf8_lossy(buf.bytes()));
        if context == 0 {
            break;
        }
    }
    if text.is_empty() {
        text = format!("status {code}");
    }
    text
}

/// Why an acceptor credential could not be acquired.
#[derive(Debug, Clone)]
pub(crate) struct AcquireFailure {
    pub(crate) service: ServiceName,
    pub(crate) keytab: Option<String>,
    pub(crate) cause: GssFailure,
}

/// One acceptor credential, acquired at start-up and used by one GSSAPI thread only.
///
/// Reusing a handle instead of `GSS_C_NO_CREDENTIAL` cuts the cost of an accept from ~82 µs
/// to ~50 µs. MIT locks a credential's mutex for the whole accept (`kg_cred_resolve` in
/// `kg_accept_krb5`), so threads sharing one handle would accept one at a time: the engine
/// gives each thread its own. A keytab file is copied into memory ([`KeytabCopy`]) and copied
/// again when it changes, so keys added to it (a rotation) are picked up without a restart.
pub(crate) struct Acceptor {
    cred: RawCred,
    service: ServiceName,
    rcache: Rcache,
    /// The keytab file, copied into memory and watched; `None` when the keytab is not a file
    /// (or could not be copied) and MIT reads it itself.
    copy: Option<KeytabCopy>,
    /// gssproxy holds the keys: the ticket's service name is checked here (see
    /// [`ticket_is_for`]).
    proxied: bool,
}

/// Where the acceptor's keys are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys<'a> {
    /// A keytab this process reads: the one named, else the environment's (`KRB5_KTNAME`,
    /// krb5.conf).
    Keytab(Option<&'a str>),
    /// gssproxy's ([`crate::gssproxy`]): this process never reads them.
    Gssproxy(&'a Gssproxy),
}

/// Which replay cache GSSAPI keeps for an acceptor credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rcache {
    /// MIT's own, as krb5.conf and the environment name it (a file per machine by default).
    Mit,
    /// None (cred-store `rcache` = `none:`): the engine checks replays itself, in its store.
    Off,
}

impl Rcache {
    /// The cred-store entry that selects it.
    fn store_entry(self) -> Option<(&'static str, &'static str)> {
        match self {
            Rcache::Mit => None,
            Rcache::Off => Some(("rcache", "none:")),
        }
    }
}

/// A keytab file's copy in memory, and what the file looked like when it was copied.
///
/// MIT opens, locks, reads (a dozen `lseek`s and `read`s) and closes the keytab file on every
/// accept; from a memory copy it reads nothing, and one `stat` per accept notices a changed
/// file (a key rotation), which is copied again before that accept.
struct KeytabCopy {
    path: PathBuf,
    stamp: Option<Stamp>,
    // Dropped after the credential that references it is replaced.
    _memory: MemoryKeytab,
}

/// What identifies a version of a file: where it is, its size and its change times.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let m = std::fs::metadata(path).ok()?;
        Some(Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The file behind a keytab name: `FILE:/x`, `WRFILE:/x` or a bare path; `None` for other
/// types (`MEMORY:`, ...).
fn keytab_file(name: &str) -> Option<PathBuf> {
    let path = name
        .strip_prefix("FILE:")
        .or_else(|| name.strip_prefix("WRFILE:"))
        .or_else(|| (!name.contains(':')).then_some(name))?;
    Some(PathBuf::from(path))
}

/// A fresh name for a memory keytab: unique in the process (MIT's memory keytabs are
/// process-wide by name).
fn memory_keytab_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "actix-gssapi-keytab-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

/// What a completed `gss_accept_sec_context` gives us.
pub(crate) struct Accepted {
    /// The client's principal, e.g. `alice@EXAMPLE.TEST`.
    pub(crate) principal: String,
    /// The token for mutual authentication, when GSSAPI produced one.
    pub(crate) output_token: Option<Vec<u8>>,
    /// The credential the client delegated, when it did.
    pub(crate) delegated: Option<DelegatedCred>,
    /// How long the security context (the client's ticket) stays valid.
    pub(crate) lifetime: Option<Duration>,
    /// GSSAPI marked the context anonymous (`GSS_C_ANON_FLAG`): an anonymous ticket.
    pub(crate) anonymous: bool,
    /// The ticket's PAC buffers, when GSSAPI verified them (Active Directory tickets).
    pub(crate) pac: Option<PacBytes>,
    /// The local account name krb5's `auth_to_local` rules map the client to, when asked for
    /// and there is one.
    pub(crate) local_name: Option<String>,
    /// The client's token carried the same channel bindings as ours
    /// (`GSS_C_CHANNEL_BOUND_FLAG`).
    pub(crate) channel_bound: bool,
    /// The token was made by [`Acceptor::accept_password`] from a user's password.
    pub(crate) by_password: bool,
    /// What the [`GroupSource`](crate::GroupSource) said, when there is one: the user's
    /// groups, or why it could not answer (then the login fails with `503`).
    pub(crate) groups: Option<Result<Arc<[Group]>, LookupError>>,
}

impl Acceptor {
    /// Acquires the acceptor credential for `service` from `keytab` (or the environment's
    /// `KRB5_KTNAME` / the system default keytab), from a copy of the keytab in memory when
    /// it is a file. Fails when the keytab is missing or empty, or has no key for `service`.
    ///
    /// With [`Rcache::Off`] GSSAPI keeps no replay cache for it: the caller must refuse
    /// replays itself.
    pub(crate) fn acquire(
        service: &ServiceName,
        keys: Keys<'_>,
        rcache: Rcache,
    ) -> Result<Self, AcquireFailure> {
        let keytab = match keys {
            Keys::Keytab(keytab) => keytab,
            Keys::Gssproxy(_) => return Self::acquire_proxied(service, rcache),
        };
        let fail = |cause: GssFailure| AcquireFailure {
            service: service.clone(),
            keytab: keytab.map(str::to_owned),
            cause,
        };
        let source = match keytab {
            Some(k) => Some(k.to_owned()),
            None => crate::krb5::default_keytab_name().ok(),
        };
        if let Some(path) = source.as_deref().and_then(keytab_file) {
            // A copy that fails (missing file, no permission) falls through to MIT reading
            // the keytab itself, whose error names the problem as users know it.
            if let Ok((cred, copy)) = Self::acquire_copy(service, path, rcache) {
                return Ok(Self {
                    cred,
                    service: service.clone(),
                    rcache,
                    copy: Some(copy),
                    proxied: false,
                });
            }
        }
        let store: Vec<(&str, &str)> = keytab
            .map(|k| ("keytab", k))
            .into_iter()
            .chain(rcache.store_entry())
            .collect();
        let cred = acquire_for(service, &store).map_err(|e| fail(GssFailure::from_gss(&e)))?;
        Ok(Self {
            cred,
            service: service.clone(),
            rcache,
            copy: None,
            proxied: false,
        })
    }

    /// Acquires the acceptor credential through gssproxy: plain `gss_acquire_cred`, which
    /// MIT's interposer forwards to the daemon (it ignores a cred store, and its fallback to
    /// local keys would read one here). Nothing to copy or reload: gssproxy reads its keytab.
    /// Fails when gssproxy is not running, refuses this process's uid, or has no key for
    /// `service`.
    fn acquire_proxied(service: &ServiceName, rcache: Rcache) -> Result<Self, AcquireFailure> {
        // A service account asks for both usages, as without gssproxy: its own TGT is what
        // S4U2Proxy starts from (gssproxy's `allow_constrained_delegation`).
        let usage = match service {
            ServiceName::Account(_) => GSS_C_BOTH,
            _ => GSS_C_ACCEPT,
        };
        let cred = acquire_named(service, usage, &[]).map_err(|e| AcquireFailure {
            service: service.clone(),
            keytab: None,
            cause: GssFailure::from_gss(&e),
        })?;
        Ok(Self {
            cred,
            service: service.clone(),
            rcache,
            copy: None,
            proxied: true,
        })
    }

    /// Copies the keytab file at `path` into memory and acquires a credential from the copy.
    fn acquire_copy(
        service: &ServiceName,
        path: PathBuf,
        rcache: Rcache,
    ) -> Result<(RawCred, KeytabCopy), String> {
        // The stamp is taken before the copy: a change during the copy shows at the next check.
        let stamp = Stamp::of(&path);
        let source = format!("FILE:{}", path.display());
        let memory = MemoryKeytab::copy_of(&source, &memory_keytab_name())?;
        let store: Vec<(&str, &str)> = std::iter::once(("keytab", memory.name()))
            .chain(rcache.store_entry())
            .collect();
        let cred =
            acquire_for(service, &store).map_err(|e| GssFailure::from_gss(&e).to_string())?;
        Ok((
            cred,
            KeytabCopy {
                path,
                stamp,
                _memory: memory,
            },
        ))
    }

    /// Copies the keytab again when its file changed since the last copy (a key rotation),
    /// and switches to a credential from the new copy. When that fails the old one stays.
    fn refresh(&mut self) {
        let Some(copy) = &mut self.copy else {
            return;
        };
        let stamp = Stamp::of(&copy.path);
        if stamp == copy.stamp {
            return;
        }
        match Self::acquire_copy(&self.service, copy.path.clone(), self.rcache) {
            Ok((cred, fresh)) => {
                log::info!(
                    "keytab {} changed: reloaded its keys for {}",
                    copy.path.display(),
                    self.service
                );
                self.cred = cred;
                *copy = fresh;
            }
            Err(e) => {
                log::warn!(
                    "keytab {} changed but cannot be reloaded ({e}); still using the keys \
                     read before",
                    copy.path.display()
                );
                // Not retried until the file changes again.
                copy.stamp = stamp;
            }
        }
    }

    /// Runs `gss_accept_sec_context` on one client token. Blocking: it checks the keytab file
    /// and, with [`Rcache::Mit`], writes the replay cache on disk. Call it off the async
    /// executor.
    ///
    /// `want_local_name` is asked, with the client's principal, whether to look up its
    /// `auth_to_local` name (`gss_localname` builds a krb5 context: ~10 µs).
    pub(crate) fn accept(
        &mut self,
        token: &[u8],
        want_local_name: impl FnOnce(&str) -> bool,
        channel_bindings: Option<&[u8]>,
    ) -> Result<Accepted, GssFailure> {
        self.refresh();
        // RFC 5929 bindings as clients send them: no addresses, the application data only.
        let mut bindings = channel_bindings.map(|data| gss_channel_bindings_struct {
            initiator_addrtype: GSS_C_AF_UNSPEC,
            initiator_address: gss_buffer_desc {
                length: 0,
                value: ptr::null_mut(),
            },
            acceptor_addrtype: GSS_C_AF_UNSPEC,
            acceptor_address: gss_buffer_desc {
                length: 0,
                value: ptr::null_mut(),
            },
            application_data: gss_buffer_desc {
                length: data.len(),
                value: data.as_ptr() as *mut c_void,
            },
        });
        let bindings_ptr = bindings
            .as_mut()
            .map_or(ptr::null_mut(), |b| b as *mut gss_channel_bindings_struct);
        // One gss_accept_sec_context that also returns the client's name, flags, lifetime and
        // delegated credential. libgssapi's `ServerCtx` asks for those afterwards through
        // gss_inquire_context, and MIT builds a fresh krb5 context (re-reading krb5.conf's
        // metadata) for each inquiry: three of them cost ~16 µs, a quarter of the accept
        // (benches/overhead.rs).
        let mut minor: OM_uint32 = 0;
        let mut ctx = RawCtx(ptr::null_mut());
        let mut input = gss_buffer_desc {
            length: token.len(),
            value: token.as_ptr() as *mut c_void,
        };
        let mut client = RawName(ptr::null_mut());
        let mut output = RawBuffer::empty();
        let mut flags: OM_uint32 = 0;
        let mut time_rec: OM_uint32 = 0;
        let mut delegated: gss_cred_id_t = ptr::null_mut();
        // SAFETY: `input` points into `token`, and `bindings_ptr` (null or `bindings`) into
        // `channel_bindings`, both alive for the call and only read; every output
        // pointer is a local that the call may fill; what it fills is owned by the RAII guards
        // (`ctx`, `client`, `output`) or, for `delegated`, handed to `Cred::from_c` below,
        // which releases it exactly once. `self.cred` is a live acceptor credential, used by
        // this thread only.
        let major = unsafe {
            gss_accept_sec_context(
                &mut minor,
                &mut ctx.0,
                self.cred.0,
                &mut input,
                bindings_ptr,
                &mut client.0,
                ptr::null_mut(),
                &mut output.0,
                &mut flags,
                &mut time_rec,
                &mut delegated,
            )
        };
        // SAFETY: a non-null handle returned by the call is ours to release, once.
        let delegated = (!delegated.is_null()).then(|| unsafe { Cred::from_c(delegated) });
        gss_status(major, minor)?;
        if major & _GSS_S_CONTINUE_NEEDED != 0 {
            // SPNEGO answers an empty or mechanism-less offer with its own counter-offer and
            // CONTINUE_NEEDED. HTTP has no connection-bound context to continue (RFC 4559 §6
            // leaves it to the server); every Kerberos client finishes in one round trip.
            return Err(GssFailure::internal(
                "GSS_S_CONTINUE_NEEDED: multi-round authentication is not supported \
                 (the client did not send a complete Kerberos token)",
            ));
        }
        if self.proxied {
            self.check_proxied_target(&ctx)?;
        }
        let (principal, anonymous_name) = client.display()?;
        // Copied here, where the name handle lives; decoded only if the application asks.
        let pac = client
            .authenticated_attribute("urn:mspac:logon-info")
            .map(|logon_info| PacBytes {
                logon_info,
                upn_dns_info: client.authenticated_attribute("urn:mspac:upn-dns-info"),
            });
        let local_name = if want_local_name(&principal) {
            client.local_name()
        } else {
            None
        };
        Ok(Accepted {
            principal,
            output_token: (!output.bytes().is_empty()).then(|| output.bytes().to_vec()),
            delegated: delegated
                .filter(|_| flags & GSS_C_DELEG_FLAG != 0)
                .map(DelegatedCred),
            lifetime: (time_rec != _GSS_C_INDEFINITE)
                .then(|| Duration::from_secs(u64::from(time_rec))),
            // MIT (1.20, and its master branch) never sets GSS_C_ANON_FLAG on the acceptor, even
            // for WELLKNOWN/ANONYMOUS tickets (measured, tests/anonymous.rs); it marks the
            // client's name GSS_C_NT_ANONYMOUS instead. Heimdal sets the flag.
            anonymous: anonymous_name || flags & GSS_C_ANON_FLAG != 0,
            pac,
            local_name,
            channel_bound: flags & GSS_C_CHANNEL_BOUND_FLAG != 0,
            by_password: false,
            groups: None,
        })
    }
}

impl Acceptor {
    /// Refuses a ticket for another name than the service's, when gssproxy accepted it.
    /// Without gssproxy MIT decrypts the ticket with the service's own key only; gssproxy
    /// rebuilds the acceptor credential from its exported form for each call, which does not
    /// keep that binding (`acceptor_mprinc`, absent from MIT's `export_cred.c`), and accepts a
    /// ticket for any name in its keytab (measured: `tests/gssproxy.rs`).
    fn check_proxied_target(&self, ctx: &RawCtx) -> Result<(), GssFailure> {
        let mut minor: OM_uint32 = 0;
        let mut target = RawName(ptr::null_mut());
        // SAFETY: `ctx.0` is the complete context gss_accept_sec_context just made, alive
        // until `ctx` drops; `target` is a local the call fills and its guard releases; the
        // outputs we do not want are null, which GSSAPI allows.
        let major = unsafe {
            gss_inquire_context(
                &mut minor,
                ctx.0,
                ptr::null_mut(),
                &mut target.0,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        gss_status(major, minor)?;
        let (target, _) = target.display()?;
        if ticket_is_for(&self.service, &target) {
            Ok(())
        } else {
            Err(GssFailure::wrong_service(format!(
                "the ticket is for {target}, this server accepts {} (gssproxy accepted it with \
                 another key of its keytab)",
                self.service
            )))
        }
    }
}

/// `Err` with GSSAPI's text when `major` is an error status.
fn gss_status(major: OM_uint32, minor: OM_uint32) -> Result<(), GssFailure> {
    if major & GSS_ERROR_MASK != 0 {
        return Err(GssFailure::from_gss(&GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        }));
    }
    Ok(())
}

/// Whether a ticket for the principal `target` (`HTTP/www.example.com@REALM`) is one
/// `service` accepts: for a host-based name (`HTTP@www.example.com`), that service on that
/// host (the host in any case: MIT lowercases it), or a principal of one component: an Active
/// Directory account's own name (`httpsvc@AD.EXAMPLE.COM`), which shares its SPNs' key, and
/// which gssproxy reports when it comes first in its keytab (measured, `tests/gssproxy_ad.rs`).
/// Another service's name (`HTTP/other`, `host/www`) is refused. Tickets for a service
/// account may name any of its SPNs, and `Any` takes every name: those pass.
fn ticket_is_for(service: &ServiceName, target: &str) -> bool {
    let ServiceName::HostBased(name) = service else {
        return true;
    };
    let (Some((svc, host)), Some((principal, _realm))) =
        (name.split_once('@'), target.rsplit_once('@'))
    else {
        return false;
    };
    match principal.split_once('/') {
        Some((s, h)) => s == svc && h.eq_ignore_ascii_case(host),
        None => !principal.is_empty(),
    }
}

/// Whether two OIDs have the same value.
///
/// # Safety
/// Each pointer is null or points to a valid OID whose `elements` has `length` bytes.
unsafe fn oid_eq(a: gss_OID, b: gss_OID) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    let (a, b) = (&*a, &*b);
    a.length == b.length
        && (a.length == 0
            || std::slice::from_raw_parts(a.elements as *const u8, a.length as usize)
                == std::slice::from_raw_parts(b.elements as *const u8, b.length as usize))
}

/// `GSS_ERROR()`: the calling and routine error bits of a major status.
const GSS_ERROR_MASK: OM_uint32 = 0xffff_0000;

/// An acceptor credential handle we own, released on drop.
struct RawCred(gss_cred_id_t);

// SAFETY: a credential handle is not tied to the thread that acquired it (MIT guards its
// state with its own mutex; libgssapi's `Cred` is `Send` too). `RawCred` is not `Sync`: each
// handle is used by the one thread that owns it, and released once, by `Drop`.
unsafe impl Send for RawCred {}

impl Drop for RawCred {
    fn drop(&mut self) {
        let mut minor: OM_uint32 = 0;
        // SAFETY: `self.0` came from gss_acquire_cred_from or gss_acquire_cred_with_password
        // and is released once, here.
        unsafe {
            gss_release_cred(&mut minor, &mut self.0);
        }
    }
}

/// A security context we own, deleted on drop (also after a failed accept).
struct RawCtx(gss_ctx_id_t);

impl Drop for RawCtx {
    fn drop(&mut self) {
        if !self.0.is_null() {
            let mut minor: OM_uint32 = 0;
            // SAFETY: a context handle set by gss_accept_sec_context or gss_init_sec_context,
            // deleted once, here.
            unsafe {
                gss_delete_sec_context(&mut minor, &mut self.0, ptr::null_mut());
            }
        }
    }
}

/// A buffer GSSAPI allocated for us, released on drop.
struct RawBuffer(gss_buffer_desc);

impl RawBuffer {
    fn empty() -> Self {
        Self(gss_buffer_desc {
            length: 0,
            value: ptr::null_mut(),
        })
    }

    fn bytes(&self) -> &[u8] {
        if self.0.value.is_null() || self.0.length == 0 {
            return &[];
        }
        // SAFETY: GSSAPI filled `value` with `length` readable bytes, which live until the
        // buffer is released in `drop`.
        unsafe { std::slice::from_raw_parts(self.0.value as *const u8, self.0.length) }
    }
}

impl Drop for RawBuffer {
    fn drop(&mut self) {
        if !self.0.value.is_null() {
            let mut minor: OM_uint32 = 0;
            // SAFETY: a buffer GSSAPI allocated, released once, here.
            unsafe {
                gss_release_buffer(&mut minor, &mut self.0);
            }
        }
    }
}

/// A credential delegated by a client, kept opaque outside this module.
#[derive(Clone)]
pub(crate) struct DelegatedCred(Cred);

impl DelegatedCred {
    /// Writes the credential into the named credential cache (`FILE:`, `DIR:`, `MEMORY:`...).
    pub(crate) fn store_into(&self, ccache: &str) -> Result<(), GssFailure> {
        self.0
            .store_into(ccache, true, false, CredUsage::Initiate, None)
            .map_err(|e| GssFailure::from_gss(&e))
    }

    /// The delegating client's principal.
    pub(crate) fn principal(&self) -> Result<String, GssFailure> {
        let name = self.0.name().map_err(|e| GssFailure::from_gss(&e))?;
        let buf = name.display_name().map_err(|e| GssFailure::from_gss(&e))?;
        String::from_utf8(buf.to_vec()).map_err(|_| GssFailure::internal("principal is not UTF-8"))
    }

    /// The credential's remaining lifetime.
    pub(crate) fn lifetime(&self) -> Result<Duration, GssFailure> {
        self.0.lifetime().map_err(|e| GssFailure::from_gss(&e))
    }
}

/// Starts a SPNEGO exchange (Kerberos under gssproxy) with `target` as the user whose
/// credentials are in the cache `ccache` (mutual authentication asked; the user's TGT
/// forwarded too when `delegate`): the first token, and the context that checks the back
/// end's answer. Blocking: the service ticket may come from the KDC.
///
/// The credential is acquired from the cache, not used as the acceptor handed it over: that
/// one has a Kerberos element only, and given to the SPNEGO mechanism, MIT's mechglue finds
/// no SPNEGO element in it and lets SPNEGO acquire the *process's default* credentials
/// instead (measured: bob's calls went out as the user of `KRB5CCNAME`,
/// `tests/mit/outbound.rs`). Acquired from a cache, it has an element for every mechanism.
pub(crate) fn initiate(
    ccache: &str,
    target: &OutboundName,
    bindings: Option<Vec<u8>>,
    delegate: bool,
) -> Result<(Initiator, Vec<u8>), GssFailure> {
    let raw = acquire_from(None, libgssapi_sys::GSS_C_INITIATE, &[("ccache", ccache)])
        .map_err(|e| GssFailure::from_gss(&e))?;
    let handle = raw.0;
    std::mem::forget(raw);
    // SAFETY: `handle` is a live credential from gss_acquire_cred_from that nothing else
    // owns (`raw` was forgotten, so it is not released twice); `Cred` releases it once.
    let cred = unsafe { Cred::from_c(handle) };
    let (bytes, kind) = match target {
        OutboundName::HostBased(s) => (s.as_bytes(), GSS_NT_HOSTBASED_SERVICE),
        OutboundName::Principal(s) => (s.as_bytes(), GSS_NT_KRB5_PRINCIPAL),
    };
    let name = Name::new(bytes, Some(kind)).map_err(|e| GssFailure::from_gss(&e))?;
    let mut flags = CtxFlags::GSS_C_MUTUAL_FLAG;
    if delegate {
        flags |= CtxFlags::GSS_C_DELEG_FLAG;
    }
    // Through gssproxy, Kerberos itself (RFC 4121 tokens, which acceptors on MIT's mechglue
    // take in a Negotiate header as they take SPNEGO): MIT's SPNEGO initiator asks the inner
    // context, after each step, whether it needs a mechListMIC (`mech_requires_mechlistMIC`,
    // krb5 1.20 `spnego_mech.c`:1095), and gssproxy 0.9.1's interposer answers by importing
    // the half-made context locally and dropping its own handle of it
    // (`gssi_inquire_sec_context_by_oid`, `gpp_context.c`:279; `*remote_ctx = NULL`,
    // `gss_plugin.c`:513): the back end's mutual-authentication answer then reaches gssproxy
    // with no context, "Invalid token was supplied" (`tests/gssproxy.rs`).
    let mech = if crate::gssproxy::in_use() {
        GSS_MECH_KRB5
    } else {
        GSS_MECH_SPNEGO
    };
    let mut ctx = ClientCtx::new(Some(cred), name, flags, Some(mech));
    let token = ctx
        .step(None, bindings.as_deref())
        .map_err(|e| GssFailure::from_gss(&e))?
        .ok_or_else(|| GssFailure::internal("gss_init_sec_context made no token"))?;
    Ok((Initiator { ctx, bindings }, token.to_vec()))
}

/// The name of a service to call as the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OutboundName {
    /// `service@host` (`GSS_C_NT_HOSTBASED_SERVICE`).
    HostBased(String),
    /// A Kerberos principal, `HTTP/host@REALM` (`GSS_KRB5_NT_PRINCIPAL_NAME`).
    Principal(String),
}

/// The client side of an outbound exchange after its first token: it checks the back end's
/// mutual-authentication answer.
pub(crate) struct Initiator {
    ctx: ClientCtx,
    bindings: Option<Vec<u8>>,
}

impl Initiator {
    /// Checks the back end's answer token: `Ok` when it proves the back end holds the target's
    /// key and answered this exchange.
    pub(crate) fn finish(mut self, reply: &[u8]) -> Result<(), GssFailure> {
        let more = self
            .ctx
            .step(Some(reply), self.bindings.as_deref())
            .map_err(|e| GssFailure::from_gss(&e))?;
        if more.is_some() || !self.ctx.is_complete() {
            return Err(GssFailure::internal(
                "the exchange is not complete after the back end's answer",
            ));
        }
        Ok(())
    }
}

/// An acceptor credential for `service` from the credential store `store`.
fn acquire_for(service: &ServiceName, store: &[(&str, &str)]) -> Result<RawCred, GssError> {
    // `desired_mechs` stays GSS_C_NO_OID_SET: naming only krb5 here makes every SPNEGO token
    // fail (measured with MIT 1.20: the SPNEGO mechanism then has no credential to use).
    match service {
        ServiceName::HostBased(_) | ServiceName::Any => acquire_named(service, GSS_C_ACCEPT, store),
        ServiceName::Account(account) => {
            // Usage BOTH, with the keytab also as the client keytab: MIT gets the service's
            // own TGT with it (into a memory cache of this credential's own) and, on each
            // accept, a proxy credential for the client (S4U2Proxy), which the KDC allows
            // only toward the services in msDS-AllowedToDelegateTo.
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let ccache = format!(
                "MEMORY:actix-gssapi-s4u-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let keytab = store.iter().find(|(k, _)| *k == "keytab").map(|(_, v)| *v);
            let mut full: Vec<(&str, &str)> = store.to_vec();
            if let Some(keytab) = keytab {
                full.push(("client_keytab", keytab));
            }
            full.push(("ccache", &ccache));
            let name = RawName::principal(account)?;
            acquire_from(Some(&name), GSS_C_BOTH, &full)
        }
    }
}

/// A `usage` credential for `service`'s own name (`GSS_C_NO_NAME` for [`ServiceName::Any`])
/// from `store`.
fn acquire_named(
    service: &ServiceName,
    usage: u32,
    store: &[(&str, &str)],
) -> Result<RawCred, GssError> {
    match service {
        ServiceName::HostBased(s) => acquire_from(Some(&RawName::hostbased(s)?), usage, store),
        ServiceName::Account(a) => acquire_from(Some(&RawName::principal(a)?), usage, store),
        ServiceName::Any => acquire_from(None, usage, store),
    }
}

/// Acquires `usage` credentials through `gss_acquire_cred_from`, so a keytab or ccache can be
/// named per credential instead of through the process-global `KRB5_KTNAME` / `KRB5CCNAME`.
/// With an empty `store` it is plain `gss_acquire_cred`.
fn acquire_from(
    name: Option<&RawName>,
    usage: u32,
    store: &[(&str, &str)],
) -> Result<RawCred, GssError> {
    let invalid = GssError {
        major: MajorFlags::GSS_S_FAILURE,
        minor: 0,
    };
    let owned: Vec<(CString, CString)> = store
        .iter()
        .map(|(k, v)| Ok((CString::new(*k)?, CString::new(*v)?)))
        .collect::<Result<_, std::ffi::NulError>>()
        .map_err(|_| invalid)?;
    let mut elements: Vec<gss_key_value_element_desc> = owned
        .iter()
        .map(|(k, v)| gss_key_value_element_desc {
            key: k.as_ptr(),
            value: v.as_ptr(),
        })
        .collect();
    let set = gss_key_value_set_desc {
        count: elements.len() as OM_uint32,
        elements: elements.as_mut_ptr(),
    };
    let mut minor: OM_uint32 = GSS_S_COMPLETE;
    let mut cred: gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer passed is valid for the duration of the call: `set` points at
    // `elements`, whose strings live in `owned`; `name` is an imported name that we own (or
    // null for GSS_C_NO_NAME); the output pointers are locals. `cred` is owned by us
    // after a successful call and handed to `Cred::from_c`, which releases it exactly once.
    let major = unsafe {
        gss_acquire_cred_from(
            &mut minor,
            name.map_or(ptr::null_mut(), |n| n.0),
            _GSS_C_INDEFINITE,
            ptr::null_mut(),
            usage as gss_cred_usage_t,
            if store.is_empty() { ptr::null() } else { &set },
            &mut cred,
            ptr::null_mut::<gss_OID_set>(),
            ptr::null_mut(),
        )
    };
    if major != GSS_S_COMPLETE {
        return Err(GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        });
    }
    Ok(RawCred(cred))
}

/// A `gss_name_t` we own, released on drop. (`libgssapi::name::Name` does not hand out its
/// handle, which `gss_acquire_cred_from` needs.)
struct RawName(gss_name_t);

impl RawName {
    /// The name as text (`alice@EXAMPLE.TEST`), and whether its type is
    /// `GSS_C_NT_ANONYMOUS` (`WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS`).
    fn display(&self) -> Result<(String, bool), GssFailure> {
        let mut minor: OM_uint32 = 0;
        let mut text = RawBuffer::empty();
        let mut name_type: gss_OID = ptr::null_mut();
        // SAFETY: `self.0` is a name GSSAPI gave us; `text` receives a buffer we release;
        // `name_type` receives a pointer to a static OID owned by the library (never freed).
        let major = unsafe { gss_display_name(&mut minor, self.0, &mut text.0, &mut name_type) };
        if major != GSS_S_COMPLETE {
            return Err(GssFailure::from_gss(&GssError {
                major: MajorFlags::from_bits_retain(major),
                minor,
            }));
        }
        // SAFETY: both are null or point to OIDs the library keeps alive for the process.
        let anonymous = unsafe { oid_eq(name_type, GSS_C_NT_ANONYMOUS) };
        let text = String::from_utf8(text.bytes().to_vec())
            .map_err(|_| GssFailure::internal("client principal is not UTF-8"))?;
        Ok((text, anonymous))
    }

    /// The first value of the name attribute `attr`, only when GSSAPI marks it authenticated:
    /// for the PAC, MIT does so only when the PAC's server checksum verified with our key.
    /// `None` when the name has no such attribute (an MIT ticket has no logon info).
    fn authenticated_attribute(&self, attr: &str) -> Option<Vec<u8>> {
        let mut minor: OM_uint32 = 0;
        let mut name = gss_buffer_desc {
            length: attr.len(),
            value: attr.as_ptr() as *mut c_void,
        };
        let (mut authenticated, mut complete, mut more): (c_int, c_int, c_int) = (0, 0, -1);
        let mut value = RawBuffer::empty();
        let mut display = RawBuffer::empty();
        // SAFETY: `self.0` is a name GSSAPI gave us; `name` points into `attr`, alive and only
        // read during the call; the flags are locals; `value` and `display` receive buffers
        // that their guards release; `more` = -1 asks for the first value.
        let major = unsafe {
            gss_get_name_attribute(
                &mut minor,
                self.0,
                &mut name,
                &mut authenticated,
                &mut complete,
                &mut value.0,
                &mut display.0,
                &mut more,
            )
        };
        (major == GSS_S_COMPLETE && authenticated != 0).then(|| value.bytes().to_vec())
    }

    /// The local account name the `auth_to_local` rules of krb5.conf map this name to
    /// (`gss_localname`); `None` when no rule maps it.
    fn local_name(&self) -> Option<String> {
        let mut minor: OM_uint32 = 0;
        let mut out = RawBuffer::empty();
        // SAFETY: `self.0` is a name GSSAPI gave us; a null mechanism means "the name's own";
        // `out` receives a buffer its guard releases.
        let major = unsafe { gss_localname(&mut minor, self.0, ptr::null(), &mut out.0) };
        if major != GSS_S_COMPLETE {
            return None;
        }
        String::from_utf8(out.bytes().to_vec())
            .ok()
            .filter(|s| !s.is_empty())
    }

    /// Imports a Kerberos principal name (`httpsvc@AD.EXAMPLE.COM`).
    fn principal(principal: &str) -> Result<Self, GssError> {
        // SAFETY (of the read): GSS_C_NT_USER_NAME is a static OID exported by the library.
        Self::import(principal, unsafe { GSS_C_NT_USER_NAME })
    }

    /// Imports `service@host` as a `GSS_C_NT_HOSTBASED_SERVICE` name.
    fn hostbased(service: &str) -> Result<Self, GssError> {
        // SAFETY (of the read): a static OID exported by the library.
        Self::import(service, unsafe { GSS_C_NT_HOSTBASED_SERVICE })
    }

    fn import(service: &str, name_type: gss_OID) -> Result<Self, GssError> {
        let mut buf = gss_buffer_desc {
            length: service.len(),
            value: service.as_ptr() as *mut _,
        };
        let mut minor: OM_uint32 = 0;
        let mut out: gss_name_t = ptr::null_mut();
        // SAFETY: `buf` points into `service`, alive for the call, and gss_import_name only
        // reads it; `name_type` is a static OID exported by the GSSAPI library; `out` is ours
        // afterwards and released by `RawName`'s drop.
        let major = unsafe { gss_import_name(&mut minor, &mut buf, name_type, &mut out) };
        if major != GSS_S_COMPLETE {
            return Err(GssError {
                major: MajorFlags::from_bits_retain(major),
                minor,
            });
        }
        Ok(Self(out))
    }
}

impl Drop for RawName {
    fn drop(&mut self) {
        if !self.0.is_null() {
            let mut minor: OM_uint32 = 0;
            // SAFETY: `self.0` came from GSSAPI (gss_import_name or gss_accept_sec_context)
            // and is released once, here.
            unsafe {
                gss_release_name(&mut minor, &mut self.0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Password logins (the Basic fallback): the user's password gets a ticket for our own service
// from the KDC, and our acceptor credential accepts it like any client's token.

use libgssapi_sys::{gss_OID_desc, gss_OID_set_desc, gss_acquire_cred_with_password};

/// The Kerberos 5 mechanism, 1.2.840.113554.1.2.2 (RFC 1964), DER contents.
const KRB5_MECH: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

impl Acceptor {
    /// Checks `user`'s `password` with the KDC and returns the login, as mod_auth_gssapi's
    /// `GssapiBasicAuth` does: an initial ticket with the password (into a memory ccache
    /// private to this credential, which MIT destroys with it), a ticket for `target` with
    /// it, and that ticket accepted by this thread's acceptor credential through
    /// [`accept`](Self::accept) (PAC, local name and all). A KDC that answers
    /// for the user but does not hold our key cannot log anyone in: its ticket does not
    /// decrypt. Blocking: two or three KDC exchanges. Call it off the async executor.
    pub(crate) fn accept_password(
        &mut self,
        user: &str,
        password: &[u8],
        target: &VerifyTarget,
        want_local_name: impl FnOnce(&str) -> bool,
    ) -> Result<Accepted, PasswordFailure> {
        let gss = |e: GssError| GssFailure::from_gss(&e);
        let name = RawName::principal(user).map_err(|e| PasswordFailure::Name(gss(e)))?;
        let cred = acquire_with_password(&name, password).map_err(PasswordFailure::Credentials)?;
        let target = match target {
            VerifyTarget::HostBased(s) => RawName::hostbased(s),
            VerifyTarget::Principal(p) => RawName::principal(p),
        }
        .map_err(|e| PasswordFailure::ServiceTicket(gss(e)))?;
        let token = first_token(&cred, &target).map_err(PasswordFailure::ServiceTicket)?;
        // Releasing the credential destroys its memory ccache (the user's tickets).
        drop(cred);
        let mut accepted = self
            // Our own token carries no channel bindings: a password cannot be bound to TLS.
            .accept(&token, want_local_name, None)
            .map_err(PasswordFailure::Verification)?;
        // No mutual authentication was asked for; nothing goes back to the client.
        accepted.output_token = None;
        accepted.by_password = true;
        Ok(accepted)
    }
}

/// `gss_acquire_cred_with_password` for the Kerberos mechanism alone (the mechglue would
/// otherwise try every mechanism that takes passwords, each with its own KDC exchange).
fn acquire_with_password(name: &RawName, password: &[u8]) -> Result<RawCred, GssFailure> {
    let mut krb5 = gss_OID_desc {
        length: KRB5_MECH.len() as OM_uint32,
        elements: KRB5_MECH.as_ptr() as *mut c_void,
    };
    let mut mechs = gss_OID_set_desc {
        count: 1,
        elements: &mut krb5,
    };
    let mut buf = gss_buffer_desc {
        length: password.len(),
        value: password.as_ptr() as *mut c_void,
    };
    let mut minor: OM_uint32 = 0;
    let mut cred: gss_cred_id_t = ptr::null_mut();
    // SAFETY: `name` is an imported name we own; `buf` points into `password`, alive and only
    // read during the call (MIT copies it, and wipes its copy when the credential is
    // released); `mechs` points at `krb5`, which points at a static array; both live until
    // the call returns. `cred` is ours after the call, released by `RawCred`.
    let major = unsafe {
        gss_acquire_cred_with_password(
            &mut minor,
            name.0,
            &mut buf,
            _GSS_C_INDEFINITE,
            &mut mechs,
            libgssapi_sys::GSS_C_INITIATE as gss_cred_usage_t,
            &mut cred,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let cred = RawCred(cred);
    if major & GSS_ERROR_MASK != 0 || cred.0.is_null() {
        return Err(GssFailure::from_gss(&GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        }));
    }
    Ok(cred)
}

/// The first (and only) Kerberos token of a context from `cred` to `target`: no mutual
/// authentication, no delegation, no channel bindings.
fn first_token(cred: &RawCred, target: &RawName) -> Result<Vec<u8>, GssFailure> {
    let mut krb5 = gss_OID_desc {
        length: KRB5_MECH.len() as OM_uint32,
        elements: KRB5_MECH.as_ptr() as *mut c_void,
    };
    let mut minor: OM_uint32 = 0;
    let mut ctx = RawCtx(ptr::null_mut());
    let mut output = RawBuffer::empty();
    // SAFETY: `cred` and `target` are live handles we own; `krb5` points at a static array;
    // the input token, channel bindings and unused outputs are null; `ctx` and `output`
    // receive a context and a buffer that their guards release.
    let major = unsafe {
        libgssapi_sys::gss_init_sec_context(
            &mut minor,
            cred.0,
            &mut ctx.0,
            target.0,
            &mut krb5,
            0,
            0,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut output.0,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    gss_status(major, minor)?;
    if output.bytes().is_empty() {
        return Err(GssFailure::internal(
            "gss_init_sec_context made no token for the password check",
        ));
    }
    Ok(output.bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxied_ticket_must_name_the_service_and_host() {
        let web = ServiceName::HostBased("HTTP@www.example.test".into());
        for (target, ok) in [
            ("HTTP/www.example.test@EXAMPLE.TEST", true),
            ("HTTP/WWW.Example.TEST@EXAMPLE.TEST", true),
            ("HTTP/other.example.test@EXAMPLE.TEST", false),
            ("HTTP/www.example.test.evil@EXAMPLE.TEST", false),
            ("host/www.example.test@EXAMPLE.TEST", false),
            ("http/www.example.test@EXAMPLE.TEST", false),
            ("HTTP/www.example.test/x@EXAMPLE.TEST", false),
            ("HTTP/www.example.test", false),
            ("@EXAMPLE.TEST", false),
            ("", false),
            // An AD account's own name: the key of its SPNs too.
            ("httpsvc@AD.TEST", true),
        ] {
            assert_eq!(ticket_is_for(&web, target), ok, "{target}");
        }
        for service in [
            ServiceName::Any,
            ServiceName::Account("httpsvc@AD.TEST".into()),
        ] {
            assert!(ticket_is_for(&service, "HTTP/anything@AD.TEST"));
        }
    }
}
