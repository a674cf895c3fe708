#!/usr/bin/env python3
"""GET an HTTPS URL with python-gssapi (SPNEGO, mutual authentication) and TLS channel bindings.

Usage: bindings_client.py URL CAFILE MODE

MODE is `bind` (RFC 5929 tls-server-end-point bindings from the certificate the server
presents on a live TLS connection, SHA-256: the test certificate is signed with SHA-256),
`bind-sha512` (the same certificate hashed with SHA-512: bindings that do not match), or
`none` (no bindings).

Prints `key=value` lines like requests_client.py: client, status, mutual, error, then `body=`
and the body. Kerberos settings come from the environment (KRB5_CONFIG, KRB5CCNAME). Exits 0
whenever it could print a result.
"""

import base64
import hashlib
import socket
import ssl
import sys
from urllib.parse import urlparse

import gssapi
import gssapi.raw
import requests

from report import print_result

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


def server_certificate(host, port, cafile):
    """The DER certificate the server presents, as the TLS handshake gives it."""
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((host, port), timeout=30) as sock:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True)


def main():
    url, cafile, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    parsed = urlparse(url)
    result = {"client": "python-gssapi", "status": None, "body": None, "mutual": False, "error": None}
    try:
        bindings = None
        if mode != "none":
            der = server_certificate(parsed.hostname, parsed.port, cafile)
            digest = hashlib.sha512 if mode == "bind-sha512" else hashlib.sha256
            bindings = gssapi.raw.ChannelBindings(
                application_data=b"tls-server-end-point:" + digest(der).digest()
            )
        name = gssapi.Name(f"HTTP@{parsed.hostname}", gssapi.NameType.hostbased_service)
        context = gssapi.SecurityContext(
            name=name,
            usage="initiate",
            mech=SPNEGO,
            flags=gssapi.RequirementFlag.mutual_authentication,
            channel_bindings=bindings,
        )
        token = context.step()
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                url,
                headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()},
                verify=cafile,
                timeout=30,
            )
        result["status"] = response.status_code
        result["body"] = response.text
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code == 200 and challenge.startswith("Negotiate "):
            context.step(base64.b64decode(challenge[len("Negotiate "):]))
            result["mutual"] = context.complete
    except Exception as e:  # report, do not crash: the test prints it
        result["error"] = f"{type(e).__name__}: {e}"
    print_result(result, ("client", "status", "mutual", "error"))


if __name__ == "__main__":
    main()
