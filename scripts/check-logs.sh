#!/usr/bin/env bash
# Scans every line the crate logged during the test suite (captured by tests/common into
# target/tmp/test-logs) for secrets: Negotiate and NTLM tokens, Basic credentials, session
# cookie values, passwords. Run by scripts/test.sh after a full `cargo test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:-target/tmp/test-logs}

shopt -s nullglob
files=("$dir"/*.log)
if ((${#files[@]} == 0)); then
    echo "check-logs: no captured logs in $dir: did the integration tests run?" >&2
    exit 1
fi
lines=$(cat "${files[@]}" | wc -l)
if ((lines < 100)); then
    echo "check-logs: only $lines lines captured in $dir, expected the whole suite's" >&2
    exit 1
fi

patterns=(
    'YI[A-Za-z0-9+/]{20}'           # base64 of a GSS-API token (DER 0x60 ...)
    'oX[A-Za-z0-9+/]{20}'           # base64 of a SPNEGO NegTokenResp (0xa1 ...)
    'TlRMTVNTU'                     # base64 of "NTLMSSP"
    'Negotiate [A-Za-z0-9+/=]{12}'  # any Negotiate header value
    'Basic [A-Za-z0-9+/]{8}'        # Basic credentials
    'YWxpY2U6'                      # base64 of "alice:"
    'gssapi_session='               # a session cookie
    '[A-Za-z0-9]-password'          # the test realm's passwords (alice-password, ...)
)
found=0
for pattern in "${patterns[@]}"; do
    if grep -E -n -- "$pattern" "${files[@]}" | head -5; then
        echo "check-logs: a logged line matches /$pattern/" >&2
        found=1
    fi
done
if ((found)); then
    exit 1
fi
echo "check-logs: $lines log lines from ${#files[@]} test processes, no token, credential or password"
