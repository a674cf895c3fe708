#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets (fuzz/corpus/<target>/seed-*).

The three real tokens (seed-real-*) came from the crate's `testing` feature: a throwaway MIT
realm (TestRealm::start) and `Negotiation::start_with` for HTTP@localhost as alice, SPNEGO,
SPNEGO with delegation and raw Kerberos 5. They are kept as they are and not rewritten here
(authenticator_tag's copies are read from token_framing's).

Run from anywhere: python3 fuzz/make_seeds.py
"""
import base64
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
MAX_HEADER_LEN = 64 * 1024


def b64(b: bytes) -> bytes:
    return base64.b64encode(b)


def framed(body_len: int, fill: int = 0xA5) -> bytes:
    """A minimal-DER [APPLICATION 0] token with a body_len-byte body."""
    if body_len < 0x80:
        hdr = bytes([0x60, body_len])
    else:
        n = (body_len.bit_length() + 7) // 8
        hdr = bytes([0x60, 0x80 | n]) + body_len.to_bytes(n, "big")
    return hdr + bytes([fill]) * body_len


# A token that looks like the start of a real SPNEGO NegTokenInit (OID 1.3.6.1.5.5.2).
SPNEGO_BODY = bytes.fromhex("06062b0601050502a00e300ca00a300806062a864886f712010202")
spnego = bytes([0x60, len(SPNEGO_BODY)]) + SPNEGO_BODY
NTLM_NEGOTIATE = b"NTLMSSP\0\x01\x00\x00\x00\x07\x82\x08\xa2" + bytes(16)
NTLM_AUTH = b"NTLMSSP\0\x03\x00\x00\x00" + bytes(56)

tokens = {
    "empty-body": b"\x60\x00",
    "short": b"\x60\x02ab",
    "spnego-init": spnego,
    "long-81": framed(200),
    "long-82": framed(300),
    "nonminimal-81": b"\x60\x81\x03abc",
    "nonminimal-84": b"\x60\x84\x00\x00\x00\x02ab",
    "huge-84": b"\x60\x84\xff\xff\xff\xff" + b"x" * 8,
    "indefinite-80": b"\x60\x80abc\x00\x00",
    "too-many-octets-85": b"\x60\x85\x00\x00\x00\x00\x01a",
    "truncated": framed(100)[:90],
    "trailing": framed(20) + b"\x00",
    "concatenated": framed(10) + framed(10),
    "ntlm-negotiate": NTLM_NEGOTIATE,
    "ntlm-authenticate": NTLM_AUTH,
    "neg-token-resp": b"\xa1\x07\x30\x05\xa0\x03\x0a\x01\x00",
    "lone-tag": b"\x60",
}

headers = {
    "negotiate-spnego": b"Negotiate " + b64(spnego),
    "negotiate-lower-tab-unpadded": b"negotiate\t" + b64(framed(4)).rstrip(b"="),
    "negotiate-ows": b" \tNEGOTIATE  \t " + b64(b"\x60\x00") + b" \t",
    "negotiate-empty": b"Negotiate",
    "negotiate-ntlm": b"Negotiate " + b64(NTLM_NEGOTIATE),
    "negotiate-huge-length": b"Negotiate " + b64(tokens["huge-84"]),
    "negotiate-bad-padding": b"Negotiate YAA=====",
    "negotiate-urlsafe": b"Negotiate YII-_w",
    "negotiate-trailing-bits": b"Negotiate YAB",
    "negotiate-embedded-space": b"Negotiate YA A=",
    "negotiate-obs-text": b"Negotiate \xc3\xa9t\xe9\xff",
    "negotiate-nul": b"Negotiate YA\x00A=",
    "basic": b"Basic YWxpY2U6cGFzcw==",
    "ntlm-scheme": b"NTLM " + b64(NTLM_NEGOTIATE),
    "negotiatex": b"NegotiateX " + b64(spnego),
    # The 64 KiB boundary: exactly MAX_HEADER_LEN bytes decode; one more is TooLong.
    "max-len": b"Negotiate " + b64(framed(49140)).rstrip(b"="),
    "too-long": b"Negotiate " + b"A" * (MAX_HEADER_LEN + 1 - len(b"Negotiate ")),
}
assert len(headers["max-len"]) == MAX_HEADER_LEN
assert len(headers["too-long"]) == MAX_HEADER_LEN + 1

several = {
    "none": b"",
    "two-negotiate": headers["negotiate-spnego"] + b"\n" + headers["negotiate-spnego"],
    "basic-and-negotiate": b"Basic YWI=\n" + headers["negotiate-spnego"],
    "one-valid-one-control": b"Negotiate YAA=\x01\n" + headers["negotiate-spnego"],
    "crlf": headers["negotiate-spnego"] + b"\r\nBasic YWI=",
    "eight": b"\n".join([b"Negotiate YAA="] * 9),
    "obs-text-and-del": b"Negotiate \x80\x81\nNegotiate YAA=\x7f",
}

# Basic credentials (the password fallback): good ones, and one of each refusal.
basic = {
    "alice": b"Basic " + b64(b"alice:alice-secret"),
    "realm": b"basic\t" + b64(b"alice@EXAMPLE.TEST:p:w"),
    "utf8": b"  BASIC " + b64("j\u00fcrgen:p\u00e4ssw\u00f6rd".encode()),
    "no-colon": b"Basic " + b64(b"alice"),
    "empty-user": b"Basic " + b64(b":pw"),
    "empty-password": b"Basic " + b64(b"alice:"),
    "nul": b"Basic " + b64(b"al\x00ice:pw"),
    "not-utf8": b"Basic " + b64(b"\xff:pw"),
    "unpadded": b"Basic YWxpY2U6cHc",
    "max-len": b"Basic " + b64(b"a:" + b"x" * 1022),
    "over-len": b"Basic " + b64(b"a:" + b"x" * 1023),
    "negotiate": b"Negotiate YIIB",
    "empty": b"Basic ",
}



def tlv(tag: int, contents: bytes) -> bytes:
    """One DER element, with a minimal length."""
    n = len(contents)
    if n < 0x80:
        length = bytes([n])
    else:
        k = (n.bit_length() + 7) // 8
        length = bytes([0x80 | k]) + n.to_bytes(k, "big")
    return bytes([tag]) + length + contents


def explicit(n: int, inner_tag: int, contents: bytes) -> bytes:
    """[n] EXPLICIT around one element."""
    return tlv(0xA0 | n, tlv(inner_tag, contents))


# The authenticator_tag target: the real tokens, the real raw Kerberos 5 token's AP-REQ
# re-wrapped (each must give the real token's tag), a hand-made AP-REQ, and broken ones.
KRB5 = bytes.fromhex("2a864886f712010202")
KRB5_MS = bytes.fromhex("2a864882f712010202")
SPNEGO = bytes.fromhex("2b0601050502")
NTLM_OID = bytes.fromhex("2b06010401823702020a")
TOK_ID = b"\x01\x00"
real = {
    name: (ROOT / "token_framing" / f"seed-real-{name}").read_bytes()
    for name in ("krb5", "spnego", "spnego-deleg")
}
krb5_header = b"\x60\x82\x02\xcd" + tlv(0x06, KRB5) + TOK_ID
assert real["krb5"].startswith(krb5_header)
AP_REQ = real["krb5"][len(krb5_header) :]


def krb5_token(ap_req: bytes, oid: bytes = KRB5) -> bytes:
    return tlv(0x60, tlv(0x06, oid) + TOK_ID + ap_req)


def spnego_init(mech_types, mech_token, req_flags=None, mic=None) -> bytes:
    fields = explicit(0, 0x30, b"".join(tlv(0x06, oid) for oid in mech_types))
    if req_flags is not None:
        fields += explicit(1, 0x03, req_flags)
    if mech_token is not None:
        fields += explicit(2, 0x04, mech_token)
    if mic is not None:
        fields += explicit(3, 0x04, mic)
    return tlv(0x60, tlv(0x06, SPNEGO) + tlv(0xA0, tlv(0x30, fields)))


def ap_req(pvno=5, msg_type=14, enc=None, extra=b"") -> bytes:
    """A small hand-made AP-REQ (the ticket is not real: nothing here judges it)."""
    if enc is None:
        enc = (
            explicit(0, 0x02, b"\x12")
            + explicit(1, 0x02, b"\x02")
            + explicit(2, 0x04, b"cipher")
        )
    fields = (
        explicit(0, 0x02, bytes([pvno]))
        + explicit(1, 0x02, bytes([msg_type]))
        + explicit(2, 0x03, b"\x00\x20\x00\x00\x00")
        + tlv(0xA3, tlv(0x61, tlv(0x30, b"ticket")))
        + tlv(0xA4, tlv(0x30, enc))
        + extra
    )
    return tlv(0x6E, tlv(0x30, fields))


authenticator = {
    "real-krb5": real["krb5"],
    "real-spnego": real["spnego"],
    "real-spnego-deleg": real["spnego-deleg"],
    "krb5-ms-oid": krb5_token(AP_REQ, KRB5_MS),
    "spnego-around-krb5": spnego_init(
        [KRB5_MS, KRB5, NTLM_OID], real["krb5"], b"\x01\x32", b"mic"
    ),
    "spnego-bare-ap-req": spnego_init([KRB5], AP_REQ),
    "hand-made": krb5_token(ap_req()),
    "no-mech-token": spnego_init([KRB5], None, b"\x01\x32"),
    "tok-id-0200": tlv(0x60, tlv(0x06, KRB5) + b"\x02\x00" + AP_REQ),
    "pvno-4": krb5_token(ap_req(pvno=4)),
    "extra-field": krb5_token(ap_req(extra=explicit(5, 0x02, b"\x00"))),
    "trailing-in-enc": krb5_token(
        ap_req(enc=explicit(0, 0x02, b"\x12") + explicit(2, 0x04, b"c") + b"\x00")
    ),
    "indefinite": b"\x60\x80" + real["krb5"][4:] + b"\x00\x00",
    "neg-token-resp": b"\xa1\x07\x30\x05\xa0\x03\x0a\x01\x00",
    "ntlm": NTLM_NEGOTIATE,
}


def write(target: str, items: dict) -> None:
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    for name, data in items.items():
        (d / f"seed-{name}").write_bytes(data)


write("token_framing", tokens)
write("authorization_header", headers)
write("several_headers", several)
write("basic_credentials", basic)
write("authenticator_tag", authenticator)
