//! The few C library (libc) calls the standard library does not offer. With `acceptor.rs`
//! (GSSAPI) and `krb5.rs` (libkrb5), the only module with `unsafe` code: one module per C
//! library.

#![allow(unsafe_code)]

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

/// The process's effective user id (`geteuid(2)`).
pub(crate) fn effective_uid() -> u32 {
    extern "C" {
        fn geteuid() -> u32;
    }
    // SAFETY: geteuid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { geteuid() }
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

/// Lowers the calling thread's scheduling priority to `nice` (0 to 19; Linux applies a nice
/// value per thread). Returns whether it worked.
pub(crate) fn lower_thread_priority(nice: c_int) -> bool {
    extern "C" {
        fn gettid() -> c_int;
        fn setpriority(which: c_int, who: c_int, prio: c_int) -> c_int;
    }
    const PRIO_PROCESS: c_int = 0;
    // SAFETY: neither call touches memory of ours; gettid cannot fail, and setpriority only
    // reports failure (e.g. not permitted) through its return value.
    unsafe { setpriority(PRIO_PROCESS, gettid(), nice) == 0 }
}
