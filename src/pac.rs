//! The Active Directory PAC's logon information, decoded: who the user is and which groups
//! they are in ([MS-PAC]).
//!
//! The bytes come from GSSAPI (`urn:mspac:logon-info`, `urn:mspac:upn-dns-info`), which hands
//! them out only when the PAC's server checksum verified. Everything here is a pure function of
//! those bytes: no GSSAPI, no I/O; attacker-shaped input is refused with an error, never a
//! panic (fuzzed: `fuzz/fuzz_targets/pac_logon_info.rs`).
//!
//! [MS-PAC]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-pac/

use std::fmt;
use std::str::FromStr;

/// A Windows security identifier, e.g. `S-1-5-21-1004336348-1177238915-682003330-512`.
///
/// SIDs are stable: a user or group keeps its SID when renamed, so authorize on SIDs, not on
/// names. `Display` and [`FromStr`] use the standard `S-R-I-S-S...` text form.
///
/// ```
/// use actix_gssapi::Sid;
///
/// let admins: Sid = "S-1-5-21-1004336348-1177238915-682003330-512".parse().unwrap();
/// assert_eq!(admins.rid(), Some(512));
/// assert_eq!(admins.to_string(), "S-1-5-21-1004336348-1177238915-682003330-512");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    revision: u8,
    /// 48 bits.
    authority: u64,
    /// Inline, so that a PAC's hundreds of group SIDs cost no allocation each: the first
    /// `len` are used, the rest are zero.
    sub: [u32; MAX_SUB_AUTHORITIES],
    len: u8,
}

impl Sid {
    /// The last sub-authority: the relative identifier (RID) of a domain user or group
    /// (`512` for Domain Admins).
    pub fn rid(&self) -> Option<u32> {
        self.sub_authorities().last().copied()
    }

    /// The sub-authorities (for `S-1-5-21-a-b-c-512`: `[21, a, b, c, 512]`).
    pub fn sub_authorities(&self) -> &[u32] {
        &self.sub[..usize::from(self.len)]
    }

    /// The revision (1) and the 48-bit identifier authority (5 for `S-1-5-...`).
    pub(crate) fn revision_and_authority(&self) -> (u8, u64) {
        (self.revision, self.authority)
    }

    /// A SID from its parts; `None` with more than 15 sub-authorities.
    pub(crate) fn from_parts(
        revision: u8,
        authority: u64,
        sub_authorities: &[u32],
    ) -> Option<Self> {
        if sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return None;
        }
        let mut sub = [0; MAX_SUB_AUTHORITIES];
        sub[..sub_authorities.len()].copy_from_slice(sub_authorities);
        Some(Self {
            revision,
            authority,
            sub,
            len: sub_authorities.len() as u8,
        })
    }

    /// A SID in its binary form (MS-DTYP 2.4.2.2: revision, sub-authority count, 48-bit
    /// big-endian authority, little-endian sub-authorities), as AD's `objectSid` and a PAC
    /// (after its conformant count) hold it; `None` when `bytes` is not exactly one.
    pub(crate) fn from_binary(bytes: &[u8]) -> Option<Self> {
        let (header, sub) = bytes.split_first_chunk::<8>()?;
        Self::from_header(header, sub)
    }

    /// A SID from its binary form's first 8 bytes and its sub-authorities (without a copy).
    fn from_header(header: &[u8; 8], sub_bytes: &[u8]) -> Option<Self> {
        let [revision, count, authority @ ..] = *header;
        if sub_bytes.len() != usize::from(count) * 4 || usize::from(count) > MAX_SUB_AUTHORITIES {
            return None;
        }
        let authority = authority.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        let mut sub = [0u32; MAX_SUB_AUTHORITIES];
        for (s, c) in sub.iter_mut().zip(sub_bytes.chunks_exact(4)) {
            *s = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Self::from_parts(revision, authority, &sub[..usize::from(count)])
    }

    /// The binary form [`from_binary`](Self::from_binary) reads (AD's `objectSid`).
    pub(crate) fn to_binary(&self) -> Vec<u8> {
        let sub = self.sub_authorities();
        let mut out = vec![self.revision, self.len];
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in sub {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// This SID with its last sub-authority replaced by `rid`: another account of the same
    /// domain (an AD user's primary group from its `primaryGroupID`). `None` for a SID
    /// without sub-authorities.
    pub(crate) fn with_last_rid(&self, rid: u32) -> Option<Self> {
        let last = usize::from(self.len).checked_sub(1)?;
        let mut sid = self.clone();
        sid.sub[last] = rid;
        Some(sid)
    }

    /// This SID with `rid` appended: a domain SID plus a RID names a user or group. `None`
    /// when the SID already has 15 sub-authorities.
    fn with_rid(&self, rid: u32) -> Option<Self> {
        let len = usize::from(self.len);
        if len == MAX_SUB_AUTHORITIES {
            return None;
        }
        let mut sid = self.clone();
        sid.sub[len] = rid;
        sid.len += 1;
        Some(sid)
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-", self.revision)?;
        // MS-DTYP 2.4.2.1: authorities of 2^32 and above are written in hex.
        if self.authority >= 1 << 32 {
            write!(f, "0x{:012X}", self.authority)?;
        } else {
            write!(f, "{}", self.authority)?;
        }
        for s in self.sub_authorities() {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({self})")
    }
}

/// Why a string is not a SID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSidError(String);

impl fmt::Display for ParseSidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a SID ({})", self.0)
    }
}

impl std::error::Error for ParseSidError {}

impl FromStr for Sid {
    type Err = ParseSidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why: &str| ParseSidError(why.to_owned());
        let mut parts = s.split('-');
        if !parts.next().is_some_and(|p| p.eq_ignore_ascii_case("S")) {
            return Err(err("it does not start with S-"));
        }
        let revision = parts
            .next()
            .and_then(|r| r.parse().ok())
            .ok_or_else(|| err("bad revision"))?;
        let authority = parts.next().ok_or_else(|| err("no authority"))?;
        let authority = match authority
            .strip_prefix("0x")
            .or_else(|| authority.strip_prefix("0X"))
        {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => authority.parse(),
        }
        .ok()
        .filter(|a| *a < 1 << 48)
        .ok_or_else(|| err("bad authority"))?;
        let sub_authorities = parts
            .map(|p| p.parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| err("bad sub-authority"))?;
        Self::from_parts(revision, authority, &sub_authorities)
            .ok_or_else(|| err("more than 15 sub-authorities"))
    }
}

/// MS-DTYP 2.4.2: a SID has at most 15 sub-authorities.
const MAX_SUB_AUTHORITIES: usize = 15;

/// What the PAC of an Active Directory ticket says about the user, decoded from the logon
/// information GSSAPI verified. See [`KerberosIdentity::pac`](crate::KerberosIdentity::pac).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pac {
    user_sid: Sid,
    primary_group_sid: Sid,
    group_sids: Vec<Sid>,
    logon_name: String,
    logon_domain: String,
    upn: Option<String>,
    dns_domain: Option<String>,
}

impl Pac {
    /// A `Pac` from what a session cookie carried of one (see `session.rs`): the groups are
    /// sorted and deduplicated here, whatever order they came in.
    pub(crate) fn from_session(
        user_sid: Sid,
        primary_group_sid: Sid,
        mut group_sids: Vec<Sid>,
        names: [String; 2],
        upn: Option<String>,
        dns_domain: Option<String>,
    ) -> Self {
        group_sids.sort();
        group_sids.dedup();
        let [logon_name, logon_domain] = names;
        Self {
            user_sid,
            primary_group_sid,
            group_sids,
            logon_name,
            logon_domain,
            upn,
            dns_domain,
        }
    }

    /// The user's SID (domain SID + the user's RID).
    pub fn user_sid(&self) -> &Sid {
        &self.user_sid
    }

    /// The user's primary group (usually Domain Users, RID 513).
    pub fn primary_group_sid(&self) -> &Sid {
        &self.primary_group_sid
    }

    /// Every group the user is in, as the DC computed it (nested groups included): the
    /// domain's groups (`GroupIds`), the extra SIDs (`ExtraSids`: universal groups of other
    /// domains, well-known SIDs, SID history) and the resource groups; sorted (numerically,
    /// by authority then sub-authorities), without duplicates.
    pub fn group_sids(&self) -> &[Sid] {
        &self.group_sids
    }

    /// Whether the user is in the group `sid` (or is the primary group's member).
    pub fn is_member_of(&self, sid: &Sid) -> bool {
        self.group_sids.binary_search(sid).is_ok()
    }

    /// The account name the user logged on with (`sAMAccountName`, e.g. `alice`).
    pub fn logon_name(&self) -> &str {
        &self.logon_name
    }

    /// The NetBIOS name of the user's domain (e.g. `AD`).
    pub fn logon_domain(&self) -> &str {
        &self.logon_domain
    }

    /// The user principal name (`alice@ad.example.com`), when the PAC carries one.
    pub fn upn(&self) -> Option<&str> {
        self.upn.as_deref()
    }

    /// The DNS name of the user's domain (`AD.EXAMPLE.COM`), when the PAC carries one.
    pub fn dns_domain(&self) -> Option<&str> {
        self.dns_domain.as_deref()
    }
}

/// The raw PAC buffers GSSAPI handed out as authenticated (the PAC's server checksum
/// verified): `urn:mspac:logon-info` and `urn:mspac:upn-dns-info`.
#[derive(Debug, Clone)]
pub(crate) struct PacBytes {
    pub(crate) logon_info: Vec<u8>,
    pub(crate) upn_dns_info: Option<Vec<u8>>,
}

/// Why PAC bytes were refused; safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Decodes a `KERB_VALIDATION_INFO` (the logon-info buffer) and, when given, a
/// `UPN_DNS_INFO` buffer.
pub(crate) fn decode(logon_info: &[u8], upn_dns_info: Option<&[u8]>) -> Result<Pac, Malformed> {
    let info = ValidationInfo::decode(logon_info)?;
    let domain = info
        .logon_domain_id
        .ok_or(Malformed("no logon domain SID"))?;
    let with_rid = |d: &Sid, rid: u32| {
        d.with_rid(rid)
            .ok_or(Malformed("domain SID too long to add a RID to"))
    };
    // The domain's groups share its prefix: sorting their RIDs (plain integers) sorts their
    // SIDs, and the few other SIDs then merge into an already sorted run. For a user in 400
    // groups this halves the decoding time (benches/overhead.rs, `pac/*`).
    let mut rids = info.group_ids;
    rids.push(info.primary_group_id);
    rids.sort_unstable();
    rids.dedup();
    let mut group_sids =
        Vec::with_capacity(rids.len() + info.extra_sids.len() + info.resource_group_ids.len());
    for &rid in &rids {
        group_sids.push(with_rid(&domain, rid)?);
    }
    group_sids.extend(info.extra_sids);
    if let Some(resource_domain) = &info.resource_group_domain {
        for &rid in &info.resource_group_ids {
            group_sids.push(with_rid(resource_domain, rid)?);
        }
    }
    // A stable sort finds the sorted run and merges the rest into it.
    group_sids.sort();
    group_sids.dedup();
    let primary_group_sid = with_rid(&domain, info.primary_group_id)?;
    let (upn, dns_domain) = match upn_dns_info {
        Some(bytes) => decode_upn_dns_info(bytes)?,
        None => (None, None),
    };
    Ok(Pac {
        user_sid: with_rid(&domain, info.user_id)?,
        primary_group_sid,
        group_sids,
        logon_name: info.effective_name,
        logon_domain: info.logon_domain_name,
        upn,
        dns_domain,
    })
}

/// The parts of `KERB_VALIDATION_INFO` (MS-PAC 2.5) we use.
struct ValidationInfo {
    effective_name: String,
    user_id: u32,
    primary_group_id: u32,
    group_ids: Vec<u32>,
    logon_domain_name: String,
    logon_domain_id: Option<Sid>,
    extra_sids: Vec<Sid>,
    resource_group_domain: Option<Sid>,
    resource_group_ids: Vec<u32>,
}

/// More entries than this in one array is not a PAC (Windows caps a token at ~1,000 groups;
/// the 64 KiB header limit allows fewer still).
const MAX_ENTRIES: u32 = 16 * 1024;

/// A little-endian NDR reader over one buffer, with alignment relative to its start.
struct Ndr<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Ndr<'a> {
    fn align(&mut self, to: usize) -> Result<(), Malformed> {
        let pad = (to - self.pos % to) % to;
        self.take(pad).map(|_| ())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(Malformed("logon info is truncated"))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        self.align(2)?;
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        self.align(4)?;
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An `RPC_UNICODE_STRING` header: length in bytes, and whether its buffer follows.
    fn string_header(&mut self) -> Result<(u16, bool), Malformed> {
        let length = self.u16()?;
        let _maximum = self.u16()?;
        let pointer = self.u32()?;
        if length % 2 != 0 {
            return Err(Malformed("odd UTF-16 string length"));
        }
        Ok((length, pointer != 0))
    }

    /// The deferred buffer of an `RPC_UNICODE_STRING`: a conformant varying array of UTF-16.
    fn string_body(&mut self, (length, present): (u16, bool)) -> Result<String, Malformed> {
        if !present {
            return Ok(String::new());
        }
        let max = self.u32()?;
        let offset = self.u32()?;
        let actual = self.u32()?;
        if offset != 0 || actual > max || u64::from(actual) * 2 != u64::from(length) {
            return Err(Malformed("inconsistent string lengths"));
        }
        let units: Vec<u16> = self
            .take(actual as usize * 2)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).map_err(|_| Malformed("string is not UTF-16"))
    }

    /// A conformant array's count, which must equal the count the structure announced.
    fn conformance(&mut self, expected: u32) -> Result<(), Malformed> {
        if self.u32()? != expected {
            return Err(Malformed("array size does not match its count"));
        }
        Ok(())
    }

    /// An `RPC_SID` (MS-DTYP 2.4.2.3), preceded by its conformant count.
    fn sid(&mut self) -> Result<Sid, Malformed> {
        let count = self.u32()?;
        let header = self.take(8)?;
        if u32::from(header[1]) != count || usize::from(header[1]) > MAX_SUB_AUTHORITIES {
            return Err(Malformed("bad SID sub-authority count"));
        }
        let header: &[u8; 8] = header
            .try_into()
            .map_err(|_| Malformed("logon info is truncated"))?;
        let sub = self.take(usize::from(header[1]) * 4)?;
        Sid::from_header(header, sub).ok_or(Malformed("bad SID sub-authority count"))
    }

    /// `count` `GROUP_MEMBERSHIP`s: their RIDs.
    fn group_memberships(&mut self, count: u32) -> Result<Vec<u32>, Malformed> {
        self.conformance(count)?;
        (0..count)
            .map(|_| {
                let rid = self.u32()?;
                let _attributes = self.u32()?;
                Ok(rid)
            })
            .collect()
    }
}

fn count(n: u32) -> Result<u32, Malformed> {
    if n > MAX_ENTRIES {
        return Err(Malformed("implausibly many entries"));
    }
    Ok(n)
}

impl ValidationInfo {
    fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Ndr { bytes, pos: 0 };
        // NDR type serialization v1: common header, private header, top-level referent.
        if r.take(8)? != [0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc] {
            return Err(Malformed(
                "not a little-endian NDR type serialization header",
            ));
        }
        let object_length = r.u32()? as usize;
        let _filler = r.u32()?;
        if object_length > bytes.len() - r.pos {
            return Err(Malformed("object length runs past the buffer"));
        }
        if r.u32()? == 0 {
            return Err(Malformed("null logon info"));
        }
        r.take(6 * 8)?; // LogonTime .. PasswordMustChange
        let effective_name = r.string_header()?;
        let mut other_strings = Vec::new();
        for _ in 0..5 {
            // FullName, LogonScript, ProfilePath, HomeDirectory, HomeDirectoryDrive.
            other_strings.push(r.string_header()?);
        }
        let _logon_count = r.u16()?;
        let _bad_password_count = r.u16()?;
        let user_id = r.u32()?;
        let primary_group_id = r.u32()?;
        let group_count = count(r.u32()?)?;
        let group_ids_present = r.u32()? != 0;
        let _user_flags = r.u32()?;
        r.take(16)?; // UserSessionKey
        let logon_server = r.string_header()?;
        let logon_domain_name = r.string_header()?;
        let logon_domain_id_present = r.u32()? != 0;
        r.take(8)?; // Reserved1
        let _user_account_control = r.u32()?;
        let _sub_auth_status = r.u32()?;
        r.take(16)?; // LastSuccessfulILogon, LastFailedILogon
        let _failed_count = r.u32()?;
        let _reserved3 = r.u32()?;
        let sid_count = count(r.u32()?)?;
        let extra_sids_present = r.u32()? != 0;
        let resource_domain_present = r.u32()? != 0;
        let resource_group_count = count(r.u32()?)?;
        let resource_groups_present = r.u32()? != 0;

        // Deferred pointers, in the order their pointers appeared.
        let effective_name = r.string_body(effective_name)?;
        for s in other_strings {
            r.string_body(s)?;
        }
        let group_ids = if group_ids_present {
            r.group_memberships(group_count)?
        } else if group_count != 0 {
            return Err(Malformed("group count without groups"));
        } else {
            Vec::new()
        };
        r.string_body(logon_server)?;
        let logon_domain_name = r.string_body(logon_domain_name)?;
        let logon_domain_id = if logon_domain_id_present {
            Some(r.sid()?)
        } else {
            None
        };
        let extra_sids = if extra_sids_present {
            r.conformance(sid_count)?;
            let mut present = Vec::with_capacity(sid_count as usize);
            for _ in 0..sid_count {
                present.push(r.u32()? != 0);
                let _attributes = r.u32()?;
            }
            let mut sids = Vec::new();
            for p in present {
                if p {
                    sids.push(r.sid()?);
                }
            }
            sids
        } else if sid_count != 0 {
            return Err(Malformed("extra SID count without SIDs"));
        } else {
            Vec::new()
        };
        let resource_group_domain = if resource_domain_present {
            Some(r.sid()?)
        } else {
            None
        };
        let resource_group_ids = if resource_groups_present {
            r.group_memberships(resource_group_count)?
        } else {
            Vec::new()
        };
        Ok(Self {
            effective_name,
            user_id,
            primary_group_id,
            group_ids,
            logon_domain_name,
            logon_domain_id,
            extra_sids,
            resource_group_domain,
            resource_group_ids,
        })
    }
}

/// `UPN_DNS_INFO` (MS-PAC 2.10): the UPN and the DNS domain name, UTF-16 at offsets from the
/// start of the buffer.
fn decode_upn_dns_info(bytes: &[u8]) -> Result<(Option<String>, Option<String>), Malformed> {
    let u16_at = |at: usize| -> Result<u16, Malformed> {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(Malformed("UPN_DNS_INFO is truncated"))
    };
    let string = |len_at: usize| -> Result<Option<String>, Malformed> {
        let len = usize::from(u16_at(len_at)?);
        let offset = usize::from(u16_at(len_at + 2)?);
        if len == 0 {
            return Ok(None);
        }
        if len % 2 != 0 {
            return Err(Malformed("odd UTF-16 length in UPN_DNS_INFO"));
        }
        let raw = bytes
            .get(offset..offset + len)
            .ok_or(Malformed("UPN_DNS_INFO string runs past the buffer"))?;
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units)
            .map(Some)
            .map_err(|_| Malformed("UPN_DNS_INFO string is not UTF-16"))
    };
    Ok((string(0)?, string(4)?))
}

/// For `cargo fuzz` (built with `--cfg fuzzing`): decodes and summarises, never panics.
#[cfg(fuzzing)]
pub(crate) fn fuzz_summary(logon_info: &[u8], upn_dns_info: Option<&[u8]>) -> String {
    match decode(logon_info, upn_dns_info) {
        Ok(pac) => format!(
            "{} {} {} groups",
            pac.user_sid,
            pac.logon_name.len(),
            pac.group_sids.len()
        ),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a `KERB_VALIDATION_INFO` buffer the way a DC serialises one (NDR, little
    /// endian), for tests: the decoder's inverse, written from MS-PAC 2.5 and MS-RPCE 14.
    pub(crate) struct Builder {
        pub(crate) name: &'static str,
        pub(crate) domain_name: &'static str,
        pub(crate) domain: Sid,
        pub(crate) user_id: u32,
        pub(crate) primary_group_id: u32,
        pub(crate) group_ids: Vec<u32>,
        pub(crate) extra_sids: Vec<Sid>,
        pub(crate) resource: Option<(Sid, Vec<u32>)>,
    }

    struct W(Vec<u8>);

    impl W {
        fn align(&mut self, to: usize) {
            while !self.0.len().is_multiple_of(to) {
                self.0.push(0);
            }
        }
        fn u16(&mut self, v: u16) {
            self.align(2);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn u32(&mut self, v: u32) {
            self.align(4);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        fn string_header(&mut self, s: &str, referent: &mut u32) {
            let len = (s.encode_utf16().count() * 2) as u16;
            self.u16(len);
            self.u16(len);
            *referent += 4;
            self.u32(if s.is_empty() { 0 } else { *referent });
        }
        fn string_body(&mut self, s: &str) {
            if s.is_empty() {
                return;
            }
            let units: Vec<u16> = s.encode_utf16().collect();
            self.u32(units.len() as u32);
            self.u32(0);
            self.u32(units.len() as u32);
            for u in units {
                self.u16(u);
            }
        }
        fn sid(&mut self, sid: &Sid) {
            self.u32(sid.sub_authorities().len() as u32);
            self.0.push(sid.revision);
            self.0.push(sid.sub_authorities().len() as u8);
            self.0.extend_from_slice(&sid.authority.to_be_bytes()[2..]);
            for s in sid.sub_authorities() {
                self.u32(*s);
            }
        }
    }

    impl Builder {
        pub(crate) fn alice() -> Self {
            Self {
                name: "alice",
                domain_name: "AD",
                domain: "S-1-5-21-1-2-3".parse().unwrap(),
                user_id: 1105,
                primary_group_id: 513,
                group_ids: vec![513, 1106, 1107],
                extra_sids: vec!["S-1-18-1".parse().unwrap()],
                resource: None,
            }
        }

        pub(crate) fn bytes(&self) -> Vec<u8> {
            let mut w = W(Vec::new());
            let mut referent = 0x20000;
            w.0.extend_from_slice(&[0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc]);
            w.u32(0); // object length, patched below
            w.u32(0);
            referent += 4;
            w.u32(referent);
            w.0.extend_from_slice(&[0u8; 48]);
            w.string_header(self.name, &mut referent);
            for _ in 0..5 {
                w.string_header("", &mut referent);
            }
            w.u16(0);
            w.u16(0);
            w.u32(self.user_id);
            w.u32(self.primary_group_id);
            w.u32(self.group_ids.len() as u32);
            referent += 4;
            w.u32(if self.group_ids.is_empty() {
                0
            } else {
                referent
            });
            w.u32(0x20);
            w.0.extend_from_slice(&[0u8; 16]);
            w.string_header("DC1", &mut referent);
            w.string_header(self.domain_name, &mut referent);
            referent += 4;
            w.u32(referent);
            w.0.extend_from_slice(&[0u8; 8]);
            w.u32(0x10);
            w.u32(0);
            w.0.extend_from_slice(&[0u8; 16]);
            w.u32(0);
            w.u32(0);
            w.u32(self.extra_sids.len() as u32);
            referent += 4;
            w.u32(if self.extra_sids.is_empty() {
                0
            } else {
                referent
            });
            let (resource_sid, resource_ids) = match &self.resource {
                Some((sid, ids)) => (Some(sid), ids.clone()),
                None => (None, Vec::new()),
            };
            referent += 4;
            w.u32(if resource_sid.is_some() { referent } else { 0 });
            w.u32(resource_ids.len() as u32);
            referent += 4;
            w.u32(if resource_ids.is_empty() { 0 } else { referent });
            w.string_body(self.name);
            if !self.group_ids.is_empty() {
                w.u32(self.group_ids.len() as u32);
                for g in &self.group_ids {
                    w.u32(*g);
                    w.u32(7);
                }
            }
            w.string_body("DC1");
            w.string_body(self.domain_name);
            w.sid(&self.domain);
            if !self.extra_sids.is_empty() {
                w.u32(self.extra_sids.len() as u32);
                for _ in &self.extra_sids {
                    referent += 4;
                    w.u32(referent);
                    w.u32(7);
                }
                for sid in &self.extra_sids {
                    w.sid(sid);
                }
            }
            if let Some(sid) = resource_sid {
                w.sid(sid);
            }
            if !resource_ids.is_empty() {
                w.u32(resource_ids.len() as u32);
                for g in &resource_ids {
                    w.u32(*g);
                    w.u32(7);
                }
            }
            w.align(8);
            let length = (w.0.len() - 16) as u32;
            w.0[8..12].copy_from_slice(&length.to_le_bytes());
            w.0
        }
    }

    fn upn_dns_info(upn: &str, dns: &str) -> Vec<u8> {
        let upn: Vec<u8> = upn.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let dns: Vec<u8> = dns.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut b = Vec::new();
        b.extend_from_slice(&(upn.len() as u16).to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(&(dns.len() as u16).to_le_bytes());
        b.extend_from_slice(&((16 + upn.len()) as u16).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&upn);
        b.extend_from_slice(&dns);
        b
    }

    #[test]
    fn decodes_users_groups_and_names() {
        let pac = decode(
            &Builder::alice().bytes(),
            Some(&upn_dns_info("alice@ad.test", "AD.TEST")),
        )
        .unwrap();
        assert_eq!(pac.user_sid().to_string(), "S-1-5-21-1-2-3-1105");
        assert_eq!(pac.primary_group_sid().to_string(), "S-1-5-21-1-2-3-513");
        let groups: Vec<String> = pac.group_sids().iter().map(Sid::to_string).collect();
        assert_eq!(
            groups,
            [
                "S-1-5-21-1-2-3-513",
                "S-1-5-21-1-2-3-1106",
                "S-1-5-21-1-2-3-1107",
                "S-1-18-1",
            ]
        );
        assert!(pac.is_member_of(&"S-1-5-21-1-2-3-1107".parse().unwrap()));
        assert!(!pac.is_member_of(&"S-1-5-21-1-2-3-1108".parse().unwrap()));
        assert_eq!(pac.logon_name(), "alice");
        assert_eq!(pac.logon_domain(), "AD");
        assert_eq!(pac.upn(), Some("alice@ad.test"));
        assert_eq!(pac.dns_domain(), Some("AD.TEST"));
    }

    /// Captured from a Samba 4.17 AD DC (realm AD.TEST) through MIT GSSAPI's
    /// `urn:mspac:logon-info` / `urn:mspac:upn-dns-info`; the expected values are what the DC
    /// itself reports (`samba-tool user show`, `tokenGroups`).
    const DOMAIN: &str = "S-1-5-21-1111111111-2222222222-3333333333";

    fn samba(user: &str) -> Pac {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pac");
        let logon = std::fs::read(format!("{dir}/samba-{user}.logon-info.bin")).unwrap();
        let upn = std::fs::read(format!("{dir}/samba-{user}.upn-dns-info.bin")).unwrap();
        decode(&logon, Some(&upn)).unwrap()
    }

    #[test]
    fn decodes_a_samba_dc_pac() {
        let pac = samba("alice");
        assert_eq!(pac.user_sid().to_string(), format!("{DOMAIN}-1102"));
        assert_eq!(pac.primary_group_sid().to_string(), format!("{DOMAIN}-513"));
        assert_eq!(pac.logon_name(), "alice");
        assert_eq!(pac.logon_domain(), "AD");
        assert_eq!(pac.upn(), Some("alice@ad.test"));
        assert_eq!(pac.dns_domain(), Some("AD.TEST"));
        let mut expected: Vec<String> = [513, 1107, 1108, 1109, 1110, 1111, 1112]
            .iter()
            .map(|rid| format!("{DOMAIN}-{rid}"))
            .collect();
        // "Authentication authority asserted identity" (MS-PAC 2.2.1.2).
        expected.push("S-1-18-1".to_owned());
        let groups: Vec<String> = pac.group_sids().iter().map(Sid::to_string).collect();
        assert_eq!(groups, expected);

        let bob = samba("bob");
        assert_eq!(bob.user_sid().to_string(), format!("{DOMAIN}-1103"));
        assert!(bob.is_member_of(&format!("{DOMAIN}-1109").parse().unwrap()));
        assert!(!bob.is_member_of(&format!("{DOMAIN}-1107").parse().unwrap()));
    }

    #[test]
    fn decodes_a_samba_pac_with_400_groups() {
        let pac = samba("manygroups");
        assert_eq!(pac.user_sid().to_string(), format!("{DOMAIN}-1104"));
        // 400 groups of its own, Domain Users, and the asserted-identity SID.
        assert_eq!(pac.group_sids().len(), 402, "{:?}", pac.group_sids());
    }

    /// The `KERB_VALIDATION_INFO` sample of the MS-PAC specification (section 3, "Structure
    /// Examples": user `lzhu` of domain `NTDEV`; 26 `GroupIds`, 13 `ExtraSids`), the bytes as
    /// published there. Every shorter prefix of it is refused without a panic.
    #[test]
    fn decodes_the_ms_pac_specification_sample() {
        const NTDEV: &str = "S-1-5-21-397955417-626881126-188441444";
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/pac/ms-pac-spec-sample.logon-info.bin"
        ))
        .unwrap();
        let pac = decode(&bytes, None).unwrap();
        assert_eq!(pac.logon_name(), "lzhu");
        assert_eq!(pac.logon_domain(), "NTDEV");
        assert_eq!(pac.user_sid().to_string(), format!("{NTDEV}-2914711"));
        assert_eq!(pac.primary_group_sid().to_string(), format!("{NTDEV}-513"));
        assert_eq!((pac.upn(), pac.dns_domain()), (None, None));
        let groups: Vec<String> = pac.group_sids().iter().map(Sid::to_string).collect();
        // GroupIds: 26 RIDs of NTDEV, Domain Users (513) among them.
        let mut expected: Vec<u32> = vec![
            3392609, 2999049, 3322974, 513, 2931095, 3338539, 3354830, 3026599, 3338538, 2931096,
            3392610, 3342740, 3392630, 3014318, 2937394, 3278870, 3038018, 3322975, 3513546,
            2966661, 3338434, 3271401, 3051245, 3271606, 3026603, 3018354,
        ];
        // ExtraSids: 12 more groups of NTDEV and one of another domain.
        expected.extend([
            3101812, 3291368, 3291341, 3322973, 3479105, 3271400, 3283393, 3338537, 3038991,
            3037999, 3248111, 3038983,
        ]);
        expected.sort_unstable();
        let mut expected: Vec<String> = expected
            .iter()
            .map(|rid| format!("{NTDEV}-{rid}"))
            .collect();
        expected.push("S-1-5-21-773533881-1816936887-355810188-513".to_owned());
        assert_eq!(groups, expected);
        assert!(pac.is_member_of(&format!("{NTDEV}-3038983").parse().unwrap()));
        assert!(!pac.is_member_of(&format!("{NTDEV}-2914711").parse().unwrap()));
        for end in 0..bytes.len() {
            assert!(
                decode(&bytes[..end], None).is_err(),
                "prefix of {end} bytes"
            );
        }
    }

    #[test]
    fn resource_groups_and_many_groups() {
        let mut b = Builder::alice();
        b.group_ids = (1000..1400).collect();
        b.extra_sids = (0..40)
            .map(|i| format!("S-1-5-21-9-9-9-{i}").parse().unwrap())
            .collect();
        b.resource = Some(("S-1-5-21-7-7-7".parse().unwrap(), vec![2000, 2001]));
        let pac = decode(&b.bytes(), None).unwrap();
        assert_eq!(pac.group_sids().len(), 400 + 40 + 2 + 1);
        assert!(pac.is_member_of(&"S-1-5-21-7-7-7-2001".parse().unwrap()));
        assert!(pac.is_member_of(&"S-1-5-21-9-9-9-39".parse().unwrap()));
        assert_eq!(pac.upn(), None);
    }

    #[test]
    fn malformed_logon_info_is_an_error_never_a_panic() {
        let good = Builder::alice().bytes();
        // Every truncation, and every single-byte change, either decodes or is refused.
        for end in 0..good.len() {
            let _ = decode(&good[..end], None);
        }
        assert!(decode(&good[..good.len() - 8], None).is_err());
        for at in 0..good.len() {
            for v in [0x00, 0xff, 0x7f, 0x80] {
                let mut bad = good.clone();
                bad[at] = v;
                let _ = decode(&bad, None);
            }
        }
        let mut bad = good.clone();
        bad[0] = 0x02;
        assert_eq!(
            decode(&bad, None).unwrap_err().0,
            "not a little-endian NDR type serialization header"
        );
        // A huge group count is refused before anything is allocated for it.
        let mut b = Builder::alice();
        b.group_ids.clear();
        let mut bytes = b.bytes();
        // GroupCount sits after the header (16), referent (4), times (48), six strings (48),
        // counts (4), user and primary group (8).
        let at = 16 + 4 + 48 + 48 + 4 + 8;
        bytes[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode(&bytes, None).unwrap_err().0,
            "implausibly many entries"
        );
    }

    /// Found by `scripts/fuzz.sh` (pac_logon_info): a string's element count times two
    /// overflowed a `u32`. Its first two bytes are the fuzz target's length prefix.
    #[test]
    fn fuzz_regressions_stay_fixed() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pac");
        let input = std::fs::read(format!("{dir}/fuzz-string-length-overflow.bin")).unwrap();
        let at = usize::from(u16::from_le_bytes([input[0], input[1]])).min(input.len() - 2);
        let (logon, upn) = input[2..].split_at(at);
        assert!(decode(logon, Some(upn)).is_err());
    }

    #[test]
    fn malformed_upn_dns_info_is_an_error() {
        let logon = Builder::alice().bytes();
        let good = upn_dns_info("alice@ad.test", "AD.TEST");
        for end in 0..good.len() {
            let _ = decode(&logon, Some(&good[..end]));
        }
        assert!(decode(&logon, Some(&good[..10])).is_err());
        let mut odd = good.clone();
        odd[0] = 3;
        assert!(decode(&logon, Some(&odd)).is_err());
    }

    #[test]
    fn sid_text_round_trips() {
        for text in [
            "S-1-5-21-1004336348-1177238915-682003330-512",
            "S-1-5-32-544",
            "S-1-1-0",
            "S-1-0x123456789ABC-1",
            "S-1-5",
        ] {
            let sid: Sid = text.parse().unwrap();
            assert_eq!(sid.to_string(), text);
        }
        let sid: Sid = "s-1-5-21-1-2-3-513".parse().unwrap();
        assert_eq!(sid.rid(), Some(513));
        for bad in [
            "",
            "S",
            "S-1",
            "X-1-5",
            "S-1-5-x",
            "S-1-0x1000000000000-1",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
            "S-1-5--1",
            "S-1-5-4294967296",
        ] {
            assert!(bad.parse::<Sid>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sid_binary_round_trips_and_last_rid() {
        for text in [
            "S-1-5-21-1004336348-1177238915-682003330-512",
            "S-1-0x123456789ABC-1",
            "S-1-5",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
        ] {
            let sid: Sid = text.parse().unwrap();
            let bytes = sid.to_binary();
            assert_eq!(bytes.len(), 8 + 4 * sid.sub_authorities().len());
            assert_eq!(Sid::from_binary(&bytes), Some(sid), "{text}");
        }
        let user: Sid = "S-1-5-21-1-2-3-1104".parse().unwrap();
        assert_eq!(
            user.with_last_rid(513).map(|s| s.to_string()).as_deref(),
            Some("S-1-5-21-1-2-3-513")
        );
        assert_eq!("S-1-5".parse::<Sid>().unwrap().with_last_rid(513), None);
    }
}
