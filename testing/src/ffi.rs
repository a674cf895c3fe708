//! The two C calls the test support needs that libgssapi and std do not wrap: the machine's
//! host name, and an initiator credential from a named credential cache. The crate's only
//! `unsafe` code.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::os::raw::{c_char, c_int};
use std::ptr;

use libgssapi::credential::Cred;
use libgssapi::error::{Error as GssError, MajorFlags};
use libgssapi_sys::{
    gss_OID_set, gss_acquire_cred_from, gss_cred_id_t, gss_cred_usage_t,
    gss_key_value_element_desc, gss_key_value_set_desc, OM_uint32, _GSS_C_INDEFINITE,
    GSS_C_INITIATE, GSS_S_COMPLETE,
};

/// The machine's host name as `gethostname(2)` gives it, as the server's default service
/// principal uses it.
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

/// Initiator credentials from the credential cache named `ccache` (any type: `FILE:/path`,
/// `MEMORY:name`, `DIR:/dir`), through `gss_acquire_cred_from` with the cred-store key
/// `ccache`: unlike `KRB5CCNAME`, it is per call, so tests of one process can be several users.
pub(crate) fn initiator_from_ccache(ccache: &str) -> io::Result<Cred> {
    let key = CString::new("ccache").expect("no NUL");
    let value = CString::new(ccache)
        .map_err(|_| io::Error::other("a credential cache name must not contain NUL bytes"))?;
    let mut element = gss_key_value_element_desc {
        key: key.as_ptr(),
        value: value.as_ptr(),
    };
    let store = gss_key_value_set_desc {
        count: 1,
        elements: &mut element,
    };
    let mut minor: OM_uint32 = GSS_S_COMPLETE;
    let mut cred: gss_cred_id_t = ptr::null_mut();
    // SAFETY: every pointer is valid for the call: `store` points at `element`, whose strings
    // live in `key` and `value`; the name is GSS_C_NO_NAME (null) and the mechanism set
    // GSS_C_NO_OID_SET (null); the outputs are locals. After a successful call `cred` is ours.
    let major = unsafe {
        gss_acquire_cred_from(
            &mut minor,
            ptr::null_mut(),
            _GSS_C_INDEFINITE,
            ptr::null_mut(),
            GSS_C_INITIATE as gss_cred_usage_t,
            &store,
            &mut cred,
            ptr::null_mut::<gss_OID_set>(),
            ptr::null_mut(),
        )
    };
    if major != GSS_S_COMPLETE {
        let e = GssError {
            major: MajorFlags::from_bits_retain(major),
            minor,
        };
        return Err(io::Error::other(e.to_string().trim_end().to_owned()));
    }
    // SAFETY: `cred` is a credential we own (see above); `Cred` releases it once.
    Ok(unsafe { Cred::from_c(cred) })
}
