//! The host's name service (NSS: `/etc/group`, SSSD, LDAP through nss_ldap...), as `id`
//! sees it: `getpwnam_r` for the account's primary group, `getgrouplist` for all of them,
//! `getgrgid_r` for their names. All three may block (SSSD asks its directory): they run on a
//! GSSAPI thread.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::mem::MaybeUninit;
use std::ptr;

use super::{Group, Lookup, LookupError, User};

/// At most this many groups for one user (Linux's own limit is 65,536).
const MAX_GROUPS: usize = 65_536;
/// The largest buffer `getpwnam_r`/`getgrgid_r` get (a group with thousands of members
/// needs a large one).
const MAX_BUFFER: usize = 1 << 24;

pub(crate) struct NameService;

impl Lookup for NameService {
    fn groups(&self, user: &User<'_>) -> Result<Vec<Group>, LookupError> {
        let Some(local) = user.local_name else {
            log::debug!(
                "{}: no local name (no auth_to_local rule maps it), so no groups from the \
                 name service",
                user.principal
            );
            return Ok(Vec::new());
        };
        groups_of(local)
    }

    fn describe(&self) -> String {
        "the host's name service (getgrouplist on the auth_to_local name)".to_owned()
    }

    fn needs_local_name(&self) -> bool {
        true
    }
}

/// The groups of the local account `name`, primary group first; empty when the host has no
/// such account.
pub(crate) fn groups_of(name: &str) -> Result<Vec<Group>, LookupError> {
    // A name with a NUL is no account name (auth_to_local made it from a principal).
    let Ok(c_name) = CString::new(name) else {
        return Ok(Vec::new());
    };
    let Some(primary) = primary_gid(&c_name)? else {
        log::debug!("no local account {name:?}: no groups from the name service");
        return Ok(Vec::new());
    };
    let mut gids: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut n = libc::c_int::try_from(gids.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `c_name` is a valid C string; `gids` has room for `n` entries, and
        // `getgrouplist` writes at most `n` of them and sets `n` to how many it has.
        let found =
            unsafe { libc::getgrouplist(c_name.as_ptr(), primary, gids.as_mut_ptr(), &mut n) };
        let n = usize::try_from(n).unwrap_or(0);
        if found >= 0 {
            gids.truncate(n.min(gids.len()));
            break;
        }
        // -1: too small, and `n` says how many there are (glibc).
        let want = n.max(gids.len() * 2);
        if want > MAX_GROUPS {
            return Err(LookupError(format!(
                "the name service lists more than {MAX_GROUPS} groups for {name:?}"
            )));
        }
        gids.resize(want, 0);
    }
    let mut seen = std::collections::HashSet::new();
    gids.into_iter()
        .filter(|gid| seen.insert(*gid))
        .map(|gid| {
            Ok(Group::new(
                group_name(gid)?.unwrap_or_else(|| gid.to_string()),
                None,
            ))
        })
        .collect()
}

/// Runs a `get*_r` call with a growing buffer until it fits: `Ok(false)` for "no such entry".
/// `call` returns the call's status, and whether it found the entry.
fn with_buffer(
    what: &str,
    mut call: impl FnMut(&mut [libc::c_char]) -> (libc::c_int, bool),
) -> Result<bool, LookupError> {
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        match call(&mut buf) {
            (0, found) => return Ok(found),
            (libc::ERANGE, _) if buf.len() < MAX_BUFFER => buf.resize(buf.len() * 4, 0),
            // "Not found" as the various NSS modules spell it.
            (libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM, _) => return Ok(false),
            (e, _) => {
                return Err(LookupError(format!(
                    "the name service failed to look up {what}: {}",
                    std::io::Error::from_raw_os_error(e)
                )))
            }
        }
    }
}

/// The primary group of the account `name`, or `None` when there is no such account.
fn primary_gid(name: &CStr) -> Result<Option<libc::gid_t>, LookupError> {
    let mut pwd = MaybeUninit::<libc::passwd>::uninit();
    let mut gid = None;
    with_buffer("an account", |buf| {
        let mut result: *mut libc::passwd = ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf` has `buf.len()` bytes.
        let rc = unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == 0 && !result.is_null() {
            // SAFETY: a non-null `result` points to `pwd`, filled by the successful call.
            gid = Some(unsafe { (*result).pw_gid });
        }
        (rc, !result.is_null())
    })?;
    Ok(gid)
}

/// The name of group `gid`, or `None` when it has none.
fn group_name(gid: libc::gid_t) -> Result<Option<String>, LookupError> {
    let mut grp = MaybeUninit::<libc::group>::uninit();
    let mut name = None;
    with_buffer("a group", |buf| {
        let mut result: *mut libc::group = ptr::null_mut();
        // SAFETY: every pointer is valid for the call; `buf` has `buf.len()` bytes.
        let rc = unsafe {
            libc::getgrgid_r(
                gid,
                grp.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == 0 && !result.is_null() {
            // SAFETY: the call succeeded, so `gr_name` points to a C string in `buf`, which
            // is alive here.
            let n = unsafe { CStr::from_ptr((*result).gr_name) };
            name = Some(n.to_string_lossy().into_owned());
        }
        (rc, !result.is_null())
    })?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_gssapi_testing::id_groups;

    #[test]
    fn agrees_with_id_for_the_accounts_of_this_host() {
        // `root` and `nobody` exist on every Debian machine; whoever runs the tests too.
        let me = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
        for user in ["root", "nobody", me.as_str()] {
            let mut ours: Vec<String> = groups_of(user)
                .unwrap()
                .into_iter()
                .map(|g| g.name().to_owned())
                .collect();
            ours.sort();
            assert_eq!(ours, id_groups(user).unwrap(), "{user}");
        }
    }

    #[test]
    fn an_unknown_account_or_odd_name_is_in_no_group() {
        for name in [
            "no-such-user-9f3a",
            "",
            "a\0b",
            "../../etc",
            &"x".repeat(5000),
        ] {
            assert!(groups_of(name).unwrap().is_empty(), "{name:?}");
        }
    }
}
