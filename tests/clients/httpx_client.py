#!/usr/bin/env python3
"""GET a URL with httpx-gssapi (SPNEGO, mutual authentication REQUIRED).

Usage: httpx_client.py URL

Prints `key=value` lines: client, status (empty when no response), mutual (true/false), error
(one line, empty when none), and last `body=` followed by the response body to the end.
"mutual" is true only when the server's WWW-Authenticate token was checked by GSSAPI and
completed the security context (the server proved it holds the service key). Kerberos
settings come from the environment (KRB5_CONFIG, KRB5CCNAME). Exits 0 whenever it could print
a result.
"""

import sys

import httpx
from httpx_gssapi import REQUIRED, HTTPSPNEGOAuth
from httpx_gssapi.exceptions import MutualAuthenticationError

from report import print_result


class CheckedAuth(HTTPSPNEGOAuth):
    """Records whether the server's token completed the context."""

    mutual = False

    def authenticate_server(self, response, ctx):
        ok = super().authenticate_server(response, ctx)
        self.mutual = bool(ok and ctx.complete)
        return ok


def main():
    url = sys.argv[1]
    auth = CheckedAuth(mutual_authentication=REQUIRED)
    result = {"client": "httpx-gssapi", "status": None, "body": None, "mutual": False, "error": None}
    try:
        with httpx.Client(auth=auth, timeout=30, trust_env=False) as client:
            response = client.get(url)
        result["status"] = response.status_code
        result["body"] = response.text
        result["mutual"] = auth.mutual
    except MutualAuthenticationError as e:
        result["error"] = f"MutualAuthenticationError: {e}"
    except Exception as e:  # report, do not crash: the test prints it
        result["error"] = f"{type(e).__name__}: {e}"
    print_result(result, ("client", "status", "mutual", "error"))


if __name__ == "__main__":
    main()
