//! The few libkrb5 calls GSSAPI has no counterpart for: copying a keytab into memory, the
//! default keytab's name and realm, destroying a credential cache. With `acceptor.rs` (GSSAPI) and
//! `sys.rs` (libc), one of the three modules with `unsafe` code; nothing outside it sees a
//! krb5 type.
//!
//! libkrb5 is what MIT's GSSAPI library is built on, so linking it adds no new dependency.

#![allow(unsafe_code)]

use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int};
use std::ptr;

type Krb5Context = *mut c_void;
type Krb5Keytab = *mut c_void;
type Krb5Ccache = *mut c_void;
type Krb5Cursor = *mut c_void;
type Profile = *mut c_void;
type ErrorCode = i32;

/// `krb5_keytab_entry` (48 bytes on LP64), only ever handled through pointers given to
/// libkrb5, which fills, reads and frees it; the buffer is larger than any layout it has had.
#[repr(C, align(8))]
struct KeytabEntry([u8; 128]);

/// `KRB5_KT_END`: no more entries.
const KRB5_KT_END: ErrorCode = -1_765_328_202;

#[link(name = "krb5")]
extern "C" {
    fn krb5_init_context(context: *mut Krb5Context) -> ErrorCode;
    fn krb5_free_context(context: Krb5Context);
    fn krb5_get_error_message(context: Krb5Context, code: ErrorCode) -> *const c_char;
    fn krb5_free_error_message(context: Krb5Context, message: *const c_char);
    fn krb5_cc_resolve(
        context: Krb5Context,
        name: *const c_char,
        cache: *mut Krb5Ccache,
    ) -> ErrorCode;
    fn krb5_cc_destroy(context: Krb5Context, cache: Krb5Ccache) -> ErrorCode;
    fn krb5_kt_default_name(context: Krb5Context, name: *mut c_char, size: c_int) -> ErrorCode;
    fn krb5_kt_resolve(context: Krb5Context, name: *const c_char, kt: *mut Krb5Keytab)
        -> ErrorCode;
    fn krb5_kt_close(context: Krb5Context, kt: Krb5Keytab) -> ErrorCode;
    fn krb5_kt_start_seq_get(
        context: Krb5Context,
        kt: Krb5Keytab,
        cursor: *mut Krb5Cursor,
    ) -> ErrorCode;
    fn krb5_kt_next_entry(
        context: Krb5Context,
        kt: Krb5Keytab,
        entry: *mut KeytabEntry,
        cursor: *mut Krb5Cursor,
    ) -> ErrorCode;
    fn krb5_kt_end_seq_get(
        context: Krb5Context,
        kt: Krb5Keytab,
        cursor: *mut Krb5Cursor,
    ) -> ErrorCode;
    fn krb5_kt_add_entry(
        context: Krb5Context,
        kt: Krb5Keytab,
        entry: *mut KeytabEntry,
    ) -> ErrorCode;
    fn krb5_free_keytab_entry_contents(context: Krb5Context, entry: *mut KeytabEntry) -> ErrorCode;
    fn krb5_get_profile(context: Krb5Context, profile: *mut Profile) -> ErrorCode;
    fn krb5_get_default_realm(context: Krb5Context, realm: *mut *mut c_char) -> ErrorCode;
    fn krb5_free_default_realm(context: Krb5Context, realm: *mut c_char);
    fn profile_get_integer(
        profile: Profile,
        name: *const c_char,
        subname: *const c_char,
        subsubname: *const c_char,
        def_val: c_int,
        ret_int: *mut c_int,
    ) -> ErrorCode;
    fn profile_release(profile: Profile);
}

/// libkrb5's own text for an error code (in the process's language), without the details a
/// failed call may leave on a context: what GSSAPI shows for that code when nothing more
/// specific was said.
pub(crate) fn error_text(code: i32) -> Option<String> {
    Context::new().ok().map(|ctx| ctx.message(code))
}

/// A krb5 library context, freed on drop. Used by one thread at a time (it is `Send`, not
/// `Sync`).
struct Context(Krb5Context);

// SAFETY: a krb5_context may move between threads; it must not be used by two at once, which
// `&mut`/ownership of `Context` (not `Sync`) guarantees.
unsafe impl Send for Context {}

impl Context {
    fn new() -> Result<Self, String> {
        let mut ctx: Krb5Context = ptr::null_mut();
        // SAFETY: `ctx` is an out-pointer; on success the context is ours, freed in `drop`.
        let rc = unsafe { krb5_init_context(&mut ctx) };
        if rc != 0 {
            return Err(format!("krb5_init_context failed (error {rc})"));
        }
        Ok(Self(ctx))
    }

    /// libkrb5's text for an error code (it includes the details the call left behind).
    fn message(&self, code: ErrorCode) -> String {
        // SAFETY: the context is live; the message is copied, then freed once.
        unsafe {
            let text = krb5_get_error_message(self.0, code);
            if text.is_null() {
                return format!("krb5 error {code}");
            }
            let owned = CStr::from_ptr(text).to_string_lossy().into_owned();
            krb5_free_error_message(self.0, text);
            owned
        }
    }

    fn check(&self, code: ErrorCode, what: &str) -> Result<(), String> {
        if code == 0 {
            Ok(())
        } else {
            Err(format!("{what}: {}", self.message(code)))
        }
    }

    fn resolve_keytab(&self, name: &str) -> Result<Keytab<'_>, String> {
        let c_name = CString::new(name).map_err(|_| format!("keytab name {name:?} has a NUL"))?;
        let mut kt: Krb5Keytab = ptr::null_mut();
        // SAFETY: the context is live, `c_name` outlives the call, `kt` is an out-pointer
        // whose handle `Keytab` closes once.
        let rc = unsafe { krb5_kt_resolve(self.0, c_name.as_ptr(), &mut kt) };
        self.check(rc, &format!("cannot open keytab {name}"))?;
        Ok(Keytab { ctx: self, kt })
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the context came from krb5_init_context and is freed once, here, after
        // every handle that borrowed it (their lifetimes end first).
        unsafe { krb5_free_context(self.0) }
    }
}

/// An open keytab handle, closed on drop.
struct Keytab<'a> {
    ctx: &'a Context,
    kt: Krb5Keytab,
}

impl Drop for Keytab<'_> {
    fn drop(&mut self) {
        // SAFETY: `kt` was resolved with `ctx`, which is still alive; closed once, here.
        unsafe {
            krb5_kt_close(self.ctx.0, self.kt);
        }
    }
}

/// MIT's default allowed clock skew (`DEFAULT_CLOCKSKEW`), in seconds.
const DEFAULT_CLOCKSKEW: c_int = 300;

/// The clock skew libkrb5 allows between a client's authenticator and this machine, from
/// krb5.conf's `[libdefaults] clockskew` (what `krb5_rd_req` checks), in seconds; MIT's
/// default of 300 when it is not set or cannot be read.
pub(crate) fn clock_skew() -> u32 {
    let Ok(ctx) = Context::new() else {
        return DEFAULT_CLOCKSKEW as u32;
    };
    let mut profile: Profile = ptr::null_mut();
    // SAFETY: the context is live; `profile` is an out-pointer to a copy we release below.
    if unsafe { krb5_get_profile(ctx.0, &mut profile) } != 0 || profile.is_null() {
        return DEFAULT_CLOCKSKEW as u32;
    }
    let mut skew: c_int = DEFAULT_CLOCKSKEW;
    // SAFETY: `profile` is live until released; the names are NUL-terminated literals and the
    // list of names ends with a null pointer; `skew` is an out-pointer.
    let rc = unsafe {
        let rc = profile_get_integer(
            profile,
            c"libdefaults".as_ptr(),
            c"clockskew".as_ptr(),
            ptr::null(),
            DEFAULT_CLOCKSKEW,
            &mut skew,
        );
        profile_release(profile);
        rc
    };
    if rc != 0 {
        return DEFAULT_CLOCKSKEW as u32;
    }
    u32::try_from(skew).unwrap_or(DEFAULT_CLOCKSKEW as u32)
}

/// krb5.conf's `[libdefaults] default_realm` (or the one `KRB5_CONFIG`'s file names).
pub(crate) fn default_realm() -> Result<String, String> {
    let ctx = Context::new()?;
    let mut realm: *mut c_char = ptr::null_mut();
    // SAFETY: the context is live; `realm` is an out-pointer to a string we free below.
    let rc = unsafe { krb5_get_default_realm(ctx.0, &mut realm) };
    ctx.check(rc, "no default realm")?;
    if realm.is_null() {
        return Err("no default realm".to_owned());
    }
    // SAFETY: on success `realm` is a NUL-terminated string of libkrb5's, copied, then freed
    // once with the context that made it.
    let owned = unsafe {
        let owned = CStr::from_ptr(realm).to_string_lossy().into_owned();
        krb5_free_default_realm(ctx.0, realm);
        owned
    };
    Ok(owned)
}

/// The default keytab's name as libkrb5 resolves it (`KRB5_KTNAME`, else krb5.conf's
/// `default_keytab_name`, else `FILE:/etc/krb5.keytab`).
pub(crate) fn default_keytab_name() -> Result<String, String> {
    let ctx = Context::new()?;
    let mut buf = [0 as c_char; 4096];
    // SAFETY: the buffer is writable for its length, which is what the call is told.
    let rc = unsafe { krb5_kt_default_name(ctx.0, buf.as_mut_ptr(), buf.len() as c_int) };
    ctx.check(rc, "cannot read the default keytab name")?;
    // SAFETY: on success the name is NUL-terminated within the buffer.
    Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}

/// A copy of a keytab in this process's memory (`MEMORY:` keytab), alive while this value
/// (or a credential acquired from it, which holds its own reference) is.
pub(crate) struct MemoryKeytab {
    name: String,
    // Field order: the handle is closed before its context is freed.
    kt: Krb5Keytab,
    ctx: Context,
}

// SAFETY: the handle and its context are used only by the thread that owns this value (at
// drop); MIT guards each memory keytab's entries with a mutex of its own.
unsafe impl Send for MemoryKeytab {}

impl MemoryKeytab {
    /// Copies every entry of keytab `source` into a new memory keytab named `name`.
    pub(crate) fn copy_of(source: &str, name: &str) -> Result<Self, String> {
        let ctx = Context::new()?;
        let from = ctx.resolve_keytab(source)?;
        let memory_name = format!("MEMORY:{name}");
        let to = ctx.resolve_keytab(&memory_name)?;
        let mut cursor: Krb5Cursor = ptr::null_mut();
        // SAFETY: live context and handle; `cursor` is ended below on every path.
        let rc = unsafe { krb5_kt_start_seq_get(ctx.0, from.kt, &mut cursor) };
        ctx.check(rc, &format!("cannot read keytab {source}"))?;
        let mut copied = 0usize;
        let result = loop {
            let mut entry = KeytabEntry([0; 128]);
            // SAFETY: `entry` is a zeroed buffer larger than krb5_keytab_entry; on success it
            // holds an entry whose contents are freed below, once.
            let rc = unsafe { krb5_kt_next_entry(ctx.0, from.kt, &mut entry, &mut cursor) };
            if rc == KRB5_KT_END {
                break Ok(());
            }
            if let Err(e) = ctx.check(rc, &format!("cannot read keytab {source}")) {
                break Err(e);
            }
            // SAFETY: `entry` was filled by next_entry; add_entry copies what it needs.
            let added = unsafe { krb5_kt_add_entry(ctx.0, to.kt, &mut entry) };
            // SAFETY: frees what next_entry allocated in `entry`, once.
            unsafe {
                krb5_free_keytab_entry_contents(ctx.0, &mut entry);
            }
            if let Err(e) = ctx.check(added, "cannot copy a keytab entry into memory") {
                break Err(e);
            }
            copied += 1;
        };
        // SAFETY: ends the cursor started above, once.
        unsafe {
            krb5_kt_end_seq_get(ctx.0, from.kt, &mut cursor);
        }
        result?;
        if copied == 0 {
            return Err(format!("keytab {source} is empty"));
        }
        // Keep the memory keytab's handle open: MIT frees a memory keytab when its last
        // handle closes.
        let kt = to.kt;
        std::mem::forget(to);
        drop(from);
        Ok(Self {
            name: memory_name,
            kt,
            ctx,
        })
    }

    /// `MEMORY:name`, for a credential store's `keytab`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MemoryKeytab {
    fn drop(&mut self) {
        // SAFETY: the handle was resolved with `self.ctx`, still alive (fields drop after
        // this); closed once, here.
        unsafe {
            krb5_kt_close(self.ctx.0, self.kt);
        }
    }
}

/// Destroys the credential cache named `name` (e.g. a `MEMORY:` cache, which otherwise lives
/// as long as the process).
pub(crate) fn destroy_ccache(name: &str) -> Result<(), String> {
    let ctx = Context::new()?;
    let c_name = CString::new(name).map_err(|_| "cache name contains NUL".to_owned())?;
    let mut cache: Krb5Ccache = ptr::null_mut();
    // SAFETY: live context, NUL-terminated name that outlives the call; on success `cache`
    // is a handle that krb5_cc_destroy consumes (it also closes it).
    let rc = unsafe { krb5_cc_resolve(ctx.0, c_name.as_ptr(), &mut cache) };
    ctx.check(rc, "cannot open the credential cache")?;
    // SAFETY: as above.
    let rc = unsafe { krb5_cc_destroy(ctx.0, cache) };
    ctx.check(rc, "cannot destroy the credential cache")
}
