//! A decoded token, arbitrary bytes: `authenticator_tag` (where the Kerberos authenticator of
//! a raw Kerberos 5 or SPNEGO token is, and its replay tag).
//!
//! Checks, beyond "never panics": a located token gives the same tag again; the tag is the
//! SHA-256 of the located ciphertext, a non-empty slice of the token right after an OCTET
//! STRING header of its length; the token's outer framing passes `inspect_token`; one byte
//! more or one byte less is refused; and when the token is a raw Kerberos 5 token, its AP-REQ
//! wrapped in a minimal SPNEGO NegTokenInit (framed, or bare as MIT also takes it) has the
//! same tag, so re-wrapping a token never makes it look new.
#![no_main]

use actix_gssapi::__fuzz::{authenticator_cipher, authenticator_tag, inspect_token};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// The contents of the Kerberos 5 OIDs (1.2.840.113554.1.2.2 and Microsoft's 1.2.840.48018.1.2.2)
/// and of SPNEGO's (1.3.6.1.5.5.2).
const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const KRB5_MS: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

/// A DER length, minimal.
fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let octets = len.to_be_bytes();
    let skip = octets.iter().take_while(|&&b| b == 0).count();
    let mut out = vec![0x80 | (octets.len() - skip) as u8];
    out.extend_from_slice(&octets[skip..]);
    out
}

fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(contents.len()));
    out.extend_from_slice(contents);
    out
}

/// `[APPLICATION 0] { SPNEGO, [0] NegTokenInit { mechTypes [0] { krb5 }, mechToken [2] } }`.
fn spnego_around(mech_token: &[u8]) -> Vec<u8> {
    let mech_types = tlv(0xa0, &tlv(0x30, &tlv(0x06, KRB5)));
    let token = tlv(0xa2, &tlv(0x04, mech_token));
    let init = tlv(0xa0, &tlv(0x30, &[mech_types, token].concat()));
    tlv(0x60, &[tlv(0x06, SPNEGO), init].concat())
}

/// The AP-REQ of a raw Kerberos 5 token (after `0x60`, its length, the OID and TOK_ID
/// `01 00`), for a token already known to be well-framed.
fn raw_krb5_ap_req(data: &[u8]) -> Option<&[u8]> {
    let header = match *data.get(1)? {
        0..=0x7f => 2,
        n => 2 + usize::from(n & 0x7f),
    };
    let body = data.get(header..)?;
    [KRB5, KRB5_MS].into_iter().find_map(|oid| {
        body.strip_prefix(&tlv(0x06, oid)[..])?
            .strip_prefix(&[0x01, 0x00][..])
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(tag) = authenticator_tag(data) else {
        assert!(authenticator_cipher(data).is_err(), "tag and cipher disagree");
        return;
    };
    assert_eq!(authenticator_tag(data), Ok(tag), "a second reading differs");

    let cipher = authenticator_cipher(data).expect("a tag without a cipher");
    assert!(!cipher.is_empty() && cipher.end <= data.len(), "{cipher:?}");
    assert_eq!(
        <[u8; 32]>::from(Sha256::digest(&data[cipher.clone()])),
        tag,
        "the tag is not the hash of the located cipher"
    );
    let header = [&[0x04][..], &der_len(cipher.len())].concat();
    assert!(
        data[..cipher.start].ends_with(&header),
        "the cipher does not follow an OCTET STRING header of its length"
    );
    assert!(inspect_token(data), "located, but its framing is refused");

    let mut longer = data.to_vec();
    longer.push(0);
    assert!(authenticator_tag(&longer).is_err(), "located with a trailing byte");
    assert!(
        authenticator_tag(&data[..data.len() - 1]).is_err(),
        "located truncated"
    );

    if let Some(ap_req) = raw_krb5_ap_req(data) {
        assert_eq!(
            authenticator_tag(&spnego_around(data)),
            Ok(tag),
            "SPNEGO around the token changes the tag"
        );
        assert_eq!(
            authenticator_tag(&spnego_around(ap_req)),
            Ok(tag),
            "SPNEGO around the bare AP-REQ changes the tag"
        );
    }
});
