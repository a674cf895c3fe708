#!/usr/bin/env python3
"""GET a URL with requests-gssapi (SPNEGO, mutual authentication REQUIRED).

Usage: requests_client.py URL

Prints `key=value` lines: client, status (empty when no response), mutual (true/false), error
(one line, empty when none), and last `body=` followed by the response body to the end.
"mutual" is true only when the server's WWW-Authenticate token was checked by GSSAPI and
completed the security context (the server proved it holds the service key). Kerberos
settings come from the environment (KRB5_CONFIG, KRB5CCNAME). Exits 0 whenever it could print
a result.
"""

import sys
from urllib.parse import urlparse

import requests
from requests_gssapi import REQUIRED, HTTPSPNEGOAuth
from requests_gssapi.exceptions import MutualAuthenticationError

from report import print_result


class CheckedAuth(HTTPSPNEGOAuth):
    """Records whether the server's token completed the context."""

    mutual = False

    def authenticate_server(self, response):
        ok = super().authenticate_server(response)
        ctx = self.context.get(urlparse(response.url).hostname)
        self.mutual = bool(ok and ctx is not None and ctx.complete)
        return ok


def main():
    url = sys.argv[1]
    auth = CheckedAuth(mutual_authentication=REQUIRED)
    result = {"client": "requests-gssapi", "status": None, "body": None, "mutual": False, "error": None}
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxies or .netrc from the environment
            response = session.get(url, auth=auth, timeout=30)
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
