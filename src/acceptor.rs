//! The GSSAPI boundary: acquire the acceptor credential once, accept one token per request.
//!
//! This is the only module with `unsafe` code (two C calls the safe `libgssapi` layer does not
//! wrap: `gethostname` and `gss_acquire_cred_from`), and the only one that sees `libgssapi`
//! types; the rest of the crate gets plain Rust values from it.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::ptr;
use std::time::Duration;

use libgssapi::context::{CtxFlags, SecurityContext, ServerCtx};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::error::{Error as GssError, MajorFlags};
#[cfg(feature = "testing")]
use libgssapi_sys::GSS_C_INITIATE;
use libgssapi_sys::{
    gss_OID_set, gss_acquire_cred_from, gss_buffer_desc, gss_cred_id_t, gss_cred_usage_t,
    gss_import_name, gss_key_value_element_desc, gss_key_value_set_desc, gss_name_t,
    gss_release_name, OM_uint32, _GSS_C_INDEFINITE, GSS_C_ACCEPT, GSS_C_NT_HOSTBASED_SERVICE,
    GSS_S_COMPLETE,
};

/// Which key the acceptor uses: one host-based service name, or any key in the keytab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServiceName {
    /// `service@host`, e.g. `HTTP@www.example.com` (principal `HTTP/www.example.com@REALM`).
    HostBased(String),
    /// Any principal whose key is in the keytab (`GSS_C_NO_NAME`).
    Any,
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HostBased(name) => f.write_str(name),
            Self::Any => f.write_str("any principal in the keytab"),
        }
    }
}

/// A GSSAPI failure, rendered to text where it happened (`gss_display_status` wants the same
/// thread-local mechglue state that produced the minor code).
#[derive(Debug, Clone)]
pub(crate) struct GssFailure {
    /// Major and minor status text, e.g. `Unspecified GSS failure (Request is a replay)`.
    pub(crate) message: String,
}

impl GssFailure {
    fn from_gss(e: &GssError) -> Self {
        Self {
            message: e.to_string().trim_end().to_owned(),
        }
    }

    /// A refusal or failure of our own, not a GSSAPI status.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for GssFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why an acceptor credential could not be acquired.
#[derive(Debug, Clone)]
pub(crate) struct AcquireFailure {
    pub(crate) service: ServiceName,
    pub(crate) keytab: Option<String>,
    pub(crate) cause: GssFailure,
}

/// The acceptor credential, acquired once and shared by every worker.
///
/// `Cred` is an `Arc` around the C handle and MIT's credential handles are safe to use from
/// several threads at once, so clones are cheap and accepts run in parallel. Reusing one handle
/// instead of `GSS_C_NO_CREDENTIAL` cuts the cost of an accept from ~82 µs to ~50 µs (measured,
/// `shared/KERBEROS.md`). MIT re-reads the keytab file on every accept, so keys added to it
/// (a rotation) are picked up without a restart.
#[derive(Clone)]
pub(crate) struct Acceptor {
    cred: Cred,
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
}

impl Acceptor {
    /// Acquires the acceptor credential for `service` from `keytab` (or the environment's
    /// `KRB5_KTNAME` / the system default keytab). Fails when the keytab is missing or empty,
    /// or has no key for `service`.
    pub(crate) fn acquire(
        service: &ServiceName,
        keytab: Option<&str>,
    ) -> Result<Self, AcquireFailure> {
        let fail = |cause: GssFailure| AcquireFailure {
            service: service.clone(),
            keytab: keytab.map(str::to_owned),
            cause,
        };
        let name = match service {
            ServiceName::HostBased(s) => {
                Some(RawName::hostbased(s).map_err(|e| fail(GssFailure::from_gss(&e)))?)
            }
            ServiceName::Any => None,
        };
        let store: Vec<(&str, &str)> = keytab.map(|k| ("keytab", k)).into_iter().collect();
        // `desired_mechs` stays GSS_C_NO_OID_SET: naming only krb5 here makes every SPNEGO
        // token fail (measured, `shared/KERBEROS.md`).
        let cred = acquire_from(name.as_ref(), GSS_C_ACCEPT, &store)
            .map_err(|e| fail(GssFailure::from_gss(&e)))?;
        Ok(Self { cred })
    }

    /// Runs `gss_accept_sec_context` on one client token. Blocking: it reads the keytab and
    /// writes the replay cache on disk. Call it off the async executor.
    pub(crate) fn accept(&self, token: &[u8]) -> Result<Accepted, GssFailure> {
        let mut ctx = ServerCtx::new(Some(self.cred.clone()));
        let output = ctx
            .step(token, None)
            .map_err(|e| GssFailure::from_gss(&e))?;
        if !ctx.is_complete() {
            // SPNEGO answers an empty or mechanism-less offer with its own counter-offer and
            // CONTINUE_NEEDED. HTTP has no connection-bound context to continue (RFC 4559 §6
            // leaves it to the server); every Kerberos client finishes in one round trip.
            return Err(GssFailure::internal(
                "GSS_S_CONTINUE_NEEDED: multi-round authentication is not supported \
                 (the client did not send a complete Kerberos token)",
            ));
        }
        let principal = ctx
            .source_name()
            .map_err(|e| GssFailure::from_gss(&e))
            .and_then(|name| {
                name.display_name()
                    .map_err(|e| GssFailure::from_gss(&e))
                    .and_then(|buf| {
                        String::from_utf8(buf.to_vec())
                            .map_err(|_| GssFailure::internal("client principal is not UTF-8"))
                    })
            })?;
        let delegated = match ctx.flags() {
            Ok(flags) if flags.contains(CtxFlags::GSS_C_DELEG_FLAG) => {
                ctx.take_delegated_cred().map(DelegatedCred)
            }
            _ => None,
        };
        Ok(Accepted {
            principal,
            output_token: output.map(|buf| buf.to_vec()),
            delegated,
            lifetime: ctx.lifetime().ok(),
        })
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

/// Acquires `usage` credentials through `gss_acquire_cred_from`, so a keytab or ccache can be
/// named per credential instead of through the process-global `KRB5_KTNAME` / `KRB5CCNAME`.
/// With an empty `store` it is plain `gss_acquire_cred`.
fn acquire_from(
    name: Option<&RawName>,
    usage: u32,
    store: &[(&str, &str)],
) -> Result<Cred, GssError> {
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
    // SAFETY: a successful gss_acquire_cred_from returned a credential we now own.
    Ok(unsafe { Cred::from_c(cred) })
}

/// A `gss_name_t` we own, released on drop. (`libgssapi::name::Name` does not hand out its
/// handle, which `gss_acquire_cred_from` needs.)
struct RawName(gss_name_t);

impl RawName {
    /// Imports `service@host` as a `GSS_C_NT_HOSTBASED_SERVICE` name.
    fn hostbased(service: &str) -> Result<Self, GssError> {
        let mut buf = gss_buffer_desc {
            length: service.len(),
            value: service.as_ptr() as *mut _,
        };
        let mut minor: OM_uint32 = 0;
        let mut out: gss_name_t = ptr::null_mut();
        // SAFETY: `buf` points into `service`, alive for the call, and gss_import_name only
        // reads it; GSS_C_NT_HOSTBASED_SERVICE is a static OID exported by the GSSAPI library;
        // `out` is ours afterwards and released by `RawName`'s drop.
        let major =
            unsafe { gss_import_name(&mut minor, &mut buf, GSS_C_NT_HOSTBASED_SERVICE, &mut out) };
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
        let mut minor: OM_uint32 = 0;
        // SAFETY: `self.0` came from gss_import_name and is released once, here.
        unsafe {
            gss_release_name(&mut minor, &mut self.0);
        }
    }
}

/// Initiator credentials from a named credential cache (used by the test realm's client).
#[cfg(feature = "testing")]
pub(crate) fn initiator_from_ccache(ccache: &str) -> Result<Cred, GssFailure> {
    acquire_from(None, GSS_C_INITIATE, &[("ccache", ccache)]).map_err(|e| GssFailure::from_gss(&e))
}

/// The machine's host name as the OS reports it (`gethostname(2)`), like Python's
/// `socket.gethostname()` that ASGI-GSSAPI uses.
pub(crate) fn machine_hostname() -> Option<String> {
    extern "C" {
        fn gethostname(name: *mut c_char, len: usize) -> c_int;
    }
    let mut buf = [0 as c_char; 256];
    // SAFETY: the buffer is writable for `buf.len() - 1` bytes and stays NUL-terminated because
    // the last byte is never handed to the call.
    let rc = unsafe { gethostname(buf.as_mut_ptr(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    // SAFETY: `buf` is NUL-terminated (see above).
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) };
    name.to_str()
        .ok()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
