#!/usr/bin/env python3
"""GET a URL with requests' HTTPBasicAuth (the password fallback, no Kerberos).

Usage: requests_basic_client.py URL USER [CA_FILE]

The password comes from the environment (BASIC_PASSWORD), not the command line, where other
users of the machine could read it. CA_FILE is the certificate to trust for https URLs.

Prints `key=value` lines: client, status (empty when no response), challenges (the response's
WWW-Authenticate values joined with " | "), error (one line, empty when none), and last
`body=` followed by the response body to the end. Exits 0 whenever it could print a result.
"""

import os
import sys

import requests

from report import print_result
from requests.auth import HTTPBasicAuth


def main():
    url, user = sys.argv[1], sys.argv[2]
    verify = sys.argv[3] if len(sys.argv) > 3 else True
    auth = HTTPBasicAuth(user, os.environ["BASIC_PASSWORD"])
    result = {"client": "requests-basic", "status": None, "challenges": None, "error": None}
    body = ""
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxies or .netrc from the environment
            response = session.get(url, auth=auth, timeout=30, verify=verify)
        result["status"] = response.status_code
        # requests folds repeated headers into one value joined by ", "; the raw ones are kept
        # by urllib3.
        result["challenges"] = " | ".join(response.raw.headers.getlist("WWW-Authenticate"))
        body = response.text
    except Exception as e:  # report, do not crash: the test prints it
        result["error"] = f"{type(e).__name__}: {e}"
    result["body"] = body
    print_result(result, ("client", "status", "challenges", "error"))


if __name__ == "__main__":
    main()
