//! The few C library (libc) calls the standard library does not offer. With `acceptor.rs`
//! (GSSAPI) and `krb5.rs` (libkrb5), one of the three modules with `unsafe` code: one module
//! per C library.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
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

/// `msgid` translated in gettext domain `domain` for the process's locale (`dgettext(3)`), as
/// a library using that domain would print it; `msgid` itself when there is no translation.
pub(crate) fn gettext(domain: &str, msgid: &str) -> String {
    extern "C" {
        fn dgettext(domain: *const c_char, msgid: *const c_char) -> *const c_char;
    }
    let (Ok(c_domain), Ok(c_msgid)) = (CString::new(domain), CString::new(msgid)) else {
        return msgid.to_owned();
    };
    // SAFETY: both arguments are NUL-terminated and outlive the call; the result is either
    // `c_msgid` itself or a string owned by the loaded catalogue, read before returning.
    unsafe {
        let text = dgettext(c_domain.as_ptr(), c_msgid.as_ptr());
        if text.is_null() {
            return msgid.to_owned();
        }
        CStr::from_ptr(text).to_string_lossy().into_owned()
    }
}

/// Overwrites `bytes` with zeros in a way the compiler may not optimise away
/// (`explicit_bzero(3)`, glibc 2.25+): for passwords about to be freed.
pub(crate) fn wipe(bytes: &mut [u8]) {
    extern "C" {
        fn explicit_bzero(s: *mut std::ffi::c_void, n: usize);
    }
    // SAFETY: the pointer and length describe `bytes`, writable for the whole call.
    unsafe { explicit_bzero(bytes.as_mut_ptr().cast(), bytes.len()) }
}
