//! What a session cookie carries of the login that issued it, so that every rule gives the
//! cookie the answer it gave the ticket: the principal, the mechanism, the anonymous and
//! channel-bound flags, the local name (and whether names were mapped), and the verified PAC,
//! its group SIDs packed as a table of domain SIDs plus one RID each (a 400-group user takes
//! ~1.2 KB before encryption), and the groups a `GroupSource` gave (name, and SID if any).
//!
//! Only [`SessionCookie`](crate::SessionCookie) makes these bytes, and it encrypts and
//! authenticates them (AES-256-GCM): nobody without the key can produce bytes that reach
//! [`decode`]. It still treats them as untrusted: bounded lengths, no panic, `None` for
//! anything it did not write (unit-tested with every truncation and with mutations).

use crate::events::Mechanism;
use crate::groups::Group;
use crate::pac::{Pac, Sid};

/// The identity facts a session cookie carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// Seconds since the Unix epoch when the session ends.
    pub(crate) end_secs: u64,
    /// The service name and context the cookie is for (see `SessionCookie::audience`).
    pub(crate) audience: String,
    pub(crate) principal: String,
    /// How the login that issued the cookie proved itself (never `SessionCookie`).
    pub(crate) mechanism: Mechanism,
    pub(crate) anonymous: bool,
    pub(crate) channel_bound: bool,
    /// `None`: the issuing `SpnegoAuth` did not map local names; `Some(None)`: it did, and
    /// no rule maps this principal.
    pub(crate) local_name: Option<Option<String>>,
    pub(crate) pac: Option<Pac>,
    /// What the `GroupSource` gave at login (empty without one).
    pub(crate) groups: Vec<Group>,
}

/// Bumped whenever the layout changes: a cookie of another version is refused.
const VERSION: u8 = 4;

const ANONYMOUS: u8 = 1;
const CHANNEL_BOUND: u8 = 1 << 1;
const NAMES_MAPPED: u8 = 1 << 2;
const HAS_LOCAL_NAME: u8 = 1 << 3;
const HAS_PAC: u8 = 1 << 4;
const MECHANISM_SHIFT: u8 = 5;

/// Encodes `claims` (see the module docs).
pub(crate) fn encode(claims: &Claims) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(VERSION);
    out.extend_from_slice(&claims.end_secs.to_be_bytes());
    let mechanism = match claims.mechanism {
        Mechanism::Kerberos => 1,
        Mechanism::Password => 2,
        // SPNEGO, and what no login issues a cookie for.
        _ => 0,
    };
    let mut flags = mechanism << MECHANISM_SHIFT;
    if claims.anonymous {
        flags |= ANONYMOUS;
    }
    if claims.channel_bound {
        flags |= CHANNEL_BOUND;
    }
    if let Some(local) = &claims.local_name {
        flags |= NAMES_MAPPED;
        if local.is_some() {
            flags |= HAS_LOCAL_NAME;
        }
    }
    if claims.pac.is_some() {
        flags |= HAS_PAC;
    }
    out.push(flags);
    put_str(&mut out, &claims.audience);
    put_str(&mut out, &claims.principal);
    if let Some(Some(local)) = &claims.local_name {
        put_str(&mut out, local);
    }
    if let Some(pac) = &claims.pac {
        put_pac(&mut out, pac);
    }
    put_varint(&mut out, claims.groups.len() as u64);
    for group in &claims.groups {
        put_str(&mut out, group.name());
        match group.sid() {
            Some(sid) => {
                let (revision, authority) = sid.revision_and_authority();
                out.push(1);
                put_sid_parts(&mut out, revision, authority, sid.sub_authorities());
            }
            None => out.push(0),
        }
    }
    out
}

/// Decodes what [`encode`] wrote; `None` for anything else.
pub(crate) fn decode(bytes: &[u8]) -> Option<Claims> {
    let mut r = Reader(bytes);
    if r.byte()? != VERSION {
        return None;
    }
    let end_secs = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
    let flags = r.byte()?;
    let mechanism = match flags >> MECHANISM_SHIFT {
        0 => Mechanism::Spnego,
        1 => Mechanism::Kerberos,
        2 => Mechanism::Password,
        _ => return None,
    };
    let audience = r.string()?;
    let principal = r.string()?;
    let local_name = match (flags & NAMES_MAPPED != 0, flags & HAS_LOCAL_NAME != 0) {
        (false, false) => None,
        (false, true) => return None,
        (true, false) => Some(None),
        (true, true) => Some(Some(r.string()?)),
    };
    let pac = if flags & HAS_PAC != 0 {
        Some(get_pac(&mut r)?)
    } else {
        None
    };
    let n_groups = r.count()?;
    let mut groups = Vec::with_capacity(n_groups);
    for _ in 0..n_groups {
        let name = r.string()?;
        let sid = match r.byte()? {
            0 => None,
            1 => Some(get_sid(&mut r)?),
            _ => return None,
        };
        groups.push(Group::new(name, sid));
    }
    if !r.0.is_empty() {
        return None;
    }
    Some(Claims {
        end_secs,
        audience,
        principal,
        mechanism,
        anonymous: flags & ANONYMOUS != 0,
        channel_bound: flags & CHANNEL_BOUND != 0,
        local_name,
        pac,
        groups,
    })
}

/// A whole SID: revision, authority, sub-authorities.
fn get_sid(r: &mut Reader<'_>) -> Option<Sid> {
    let (revision, authority, sub) = get_sid_parts(r)?;
    Sid::from_parts(revision, authority, &sub)
}

/// What [`put_sid_parts`] wrote.
fn get_sid_parts(r: &mut Reader<'_>) -> Option<(u8, u64, Vec<u32>)> {
    let revision = r.byte()?;
    let authority = r.varint()?;
    if authority >= 1 << 48 {
        return None;
    }
    let n_sub = r.count()?;
    if n_sub > 15 {
        return None;
    }
    let mut sub = Vec::with_capacity(n_sub);
    for _ in 0..n_sub {
        sub.push(u32::try_from(r.varint()?).ok()?);
    }
    Some((revision, authority, sub))
}

/// A SID, or a SID's prefix, as its revision, authority and sub-authorities.
fn put_sid_parts(out: &mut Vec<u8>, revision: u8, authority: u64, sub: &[u32]) {
    out.push(revision);
    put_varint(out, authority);
    put_varint(out, sub.len() as u64);
    for s in sub {
        put_varint(out, u64::from(*s));
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

/// A SID as (index of its prefix, its last sub-authority): the prefix is the SID without its
/// last sub-authority (the domain SID of a domain user or group).
fn split(sid: &Sid) -> ((u8, u64, &[u32]), Option<u32>) {
    let (revision, authority) = sid.revision_and_authority();
    match sid.sub_authorities().split_last() {
        Some((rid, domain)) => ((revision, authority, domain), Some(*rid)),
        None => ((revision, authority, &[]), None),
    }
}

fn put_pac(out: &mut Vec<u8>, pac: &Pac) {
    put_str(out, pac.logon_name());
    put_str(out, pac.logon_domain());
    put_opt_str(out, pac.upn());
    put_opt_str(out, pac.dns_domain());
    let sids: Vec<&Sid> = [pac.user_sid(), pac.primary_group_sid()]
        .into_iter()
        .chain(pac.group_sids())
        .collect();
    let mut prefixes: Vec<(u8, u64, &[u32])> = Vec::new();
    let mut entries = Vec::with_capacity(sids.len());
    for sid in &sids {
        let (prefix, rid) = split(sid);
        let index = match prefixes.iter().position(|p| *p == prefix) {
            Some(i) => i,
            None => {
                prefixes.push(prefix);
                prefixes.len() - 1
            }
        };
        entries.push((index, rid));
    }
    put_varint(out, prefixes.len() as u64);
    for (revision, authority, sub) in &prefixes {
        put_sid_parts(out, *revision, *authority, sub);
    }
    put_varint(out, pac.group_sids().len() as u64);
    for (index, rid) in entries {
        put_varint(out, ((index as u64) << 1) | u64::from(rid.is_some()));
        if let Some(rid) = rid {
            put_varint(out, u64::from(rid));
        }
    }
}

fn get_pac(r: &mut Reader<'_>) -> Option<Pac> {
    let logon_name = r.string()?;
    let logon_domain = r.string()?;
    let upn = r.opt_string()?;
    let dns_domain = r.opt_string()?;
    // Every count is bounded by the bytes left (each item takes at least one): no
    // allocation larger than the input.
    let n_prefixes = r.count()?;
    let mut prefixes = Vec::with_capacity(n_prefixes);
    for _ in 0..n_prefixes {
        prefixes.push(get_sid_parts(r)?);
    }
    let n_groups = r.count()?;
    let sid = |r: &mut Reader<'_>| -> Option<Sid> {
        let entry = r.varint()?;
        let (revision, authority, domain) = prefixes.get(usize::try_from(entry >> 1).ok()?)?;
        let mut sub = domain.clone();
        if entry & 1 == 1 {
            sub.push(u32::try_from(r.varint()?).ok()?);
        }
        Sid::from_parts(*revision, *authority, &sub)
    };
    let user_sid = sid(r)?;
    let primary_group_sid = sid(r)?;
    let mut group_sids = Vec::with_capacity(n_groups);
    for _ in 0..n_groups {
        group_sids.push(sid(r)?);
    }
    Some(Pac::from_session(
        user_sid,
        primary_group_sid,
        group_sids,
        [logon_name, logon_domain],
        upn,
        dns_domain,
    ))
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    /// A count of items that take at least a byte each.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.0.len()).then_some(n)
    }

    fn string(&mut self) -> Option<String> {
        let n = usize::try_from(self.varint()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    /// A user in `groups` groups of one domain, plus well-known SIDs and a group of another
    /// domain.
    pub(crate) fn pac_with(groups: u32) -> Pac {
        let domain = "S-1-5-21-1004336348-1177238915-682003330";
        let mut group_sids: Vec<Sid> = (0..groups)
            .map(|i| sid(&format!("{domain}-{}", 1100 + i)))
            .collect();
        group_sids.push(sid(&format!("{domain}-513")));
        group_sids.push(sid("S-1-1-0"));
        group_sids.push(sid("S-1-5-11"));
        group_sids.push(sid("S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14"));
        group_sids.push(sid("S-1-0x123456789ABC-7"));
        group_sids.push(sid("S-1-16"));
        Pac::from_session(
            sid(&format!("{domain}-1106")),
            sid(&format!("{domain}-513")),
            group_sids,
            ["alice".to_owned(), "AD".to_owned()],
            Some("alice@ad.test".to_owned()),
            Some("AD.TEST".to_owned()),
        )
    }

    fn claims(groups: Option<u32>) -> Claims {
        Claims {
            end_secs: 1_900_000_000,
            audience: "HTTP@localhost\0ctx".to_owned(),
            principal: "alice@AD.TEST".to_owned(),
            mechanism: Mechanism::Password,
            anonymous: false,
            channel_bound: true,
            local_name: Some(Some("alice".to_owned())),
            pac: groups.map(pac_with),
            groups: Vec::new(),
        }
    }

    /// Claims with directory groups: named ones, and one with a SID.
    fn with_directory_groups() -> Claims {
        Claims {
            groups: vec![
                Group::new("operators".to_owned(), None),
                Group::new(String::new(), None),
                Group::new(
                    "Domain Admins".to_owned(),
                    Some(sid("S-1-5-21-1004336348-1177238915-682003330-512")),
                ),
                Group::new("é 1000".to_owned(), Some(sid("S-1-0x123456789ABC-7"))),
            ],
            ..claims(Some(2))
        }
    }

    #[test]
    fn round_trips() {
        for c in [
            claims(None),
            claims(Some(0)),
            claims(Some(400)),
            Claims {
                mechanism: Mechanism::Kerberos,
                anonymous: true,
                channel_bound: false,
                local_name: Some(None),
                principal: "WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS".to_owned(),
                ..claims(None)
            },
            Claims {
                mechanism: Mechanism::Spnego,
                local_name: None,
                principal: String::new(),
                audience: "*\0".to_owned(),
                ..claims(Some(3))
            },
            with_directory_groups(),
        ] {
            assert_eq!(decode(&encode(&c)).as_ref(), Some(&c));
        }
    }

    /// The fuzz target's seeds (`fuzz/corpus/session_claims/seed-*`) are the encodings of
    /// these claims; run with `--ignored` to write them again after a format change.
    fn seeds() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("plain", encode(&claims(None))),
            ("three-groups", encode(&claims(Some(3)))),
            (
                "anonymous-raw-krb5",
                encode(&Claims {
                    mechanism: Mechanism::Kerberos,
                    anonymous: true,
                    local_name: Some(None),
                    ..claims(None)
                }),
            ),
            ("directory-groups", encode(&with_directory_groups())),
        ]
    }

    fn seed_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/session_claims")
    }

    #[test]
    #[ignore = "writes the fuzz seeds"]
    fn write_fuzz_seeds() {
        std::fs::create_dir_all(seed_dir()).unwrap();
        for (name, bytes) in seeds() {
            std::fs::write(seed_dir().join(format!("seed-{name}")), bytes).unwrap();
        }
    }

    #[test]
    fn the_fuzz_seeds_are_current() {
        for (name, bytes) in seeds() {
            let path = seed_dir().join(format!("seed-{name}"));
            let on_disk = std::fs::read(&path).unwrap_or_default();
            assert_eq!(on_disk, bytes, "{}: run write_fuzz_seeds", path.display());
            assert!(decode(&on_disk).is_some());
        }
    }

    #[test]
    fn four_hundred_groups_are_compact() {
        let bytes = encode(&claims(Some(400)));
        // One domain prefix, then ~3 bytes a group.
        assert!(bytes.len() < 1400, "{}", bytes.len());
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        for c in [with_directory_groups(), claims(None)] {
            let bytes = encode(&c);
            for n in 0..bytes.len() {
                assert_eq!(decode(&bytes[..n]), None, "{n} bytes");
            }
        }
        let bytes = encode(&claims(Some(20)));
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n]), None, "{n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        let mut other_version = bytes;
        other_version[0] = 2;
        assert_eq!(decode(&other_version), None);
    }

    #[test]
    fn mutations_never_panic() {
        // A deterministic short fuzz: single-byte changes, and runs of random bytes.
        let bytes = encode(&Claims {
            groups: with_directory_groups().groups,
            ..claims(Some(40))
        });
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut m = bytes.clone();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % m.len();
                m[at] = next() as u8;
            }
            if let Some(c) = decode(&m) {
                // Whatever decodes is a well-formed value that encodes again.
                assert!(decode(&encode(&c)).is_some());
            }
        }
        for len in 0..200 {
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = decode(&junk);
        }
        // Counts larger than the input never allocate for them.
        let mut huge = encode(&claims(None));
        huge[9] |= HAS_PAC;
        huge.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(decode(&huge), None);
    }
}
