#!/bin/sh
# Creates (or checks) the Python virtualenv that tests/mit/real_clients.rs runs its clients in:
# requests-gssapi and httpx-gssapi at the versions pinned in requirements.txt.
#
#   tests/clients/setup.sh [VENV_DIR]     (default: target/client-venv)
#
# Idempotent: when the venv already has exactly these pins it returns at once. Needs python3
# with the venv module (Debian: python3-venv), and to build the gssapi package from source:
# libkrb5-dev, build-essential and the Python headers (Debian's python3: python3-dev).
# Set PYTHON to choose the interpreter (default: python3).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-target/client-venv}
python=${PYTHON:-python3}
requirements="$here/requirements.txt"

mkdir -p "$(dirname "$venv")"
# One setup at a time (parallel test binaries may all ask for it).
exec 9>"$venv.lock"
if command -v flock >/dev/null 2>&1; then
    flock -w 600 9
fi

stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$requirements" "$stamp" &&
    "$venv/bin/python" -c 'import requests_gssapi, httpx_gssapi, gssapi' 2>/dev/null; then
    exit 0
fi

if ! command -v "$python" >/dev/null 2>&1; then
    echo "setup.sh: $python not found (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi
if ! command -v krb5-config >/dev/null 2>&1; then
    echo "setup.sh: krb5-config not found: pip builds gssapi from source against MIT Kerberos" \
        "(Debian: apt-get install libkrb5-dev build-essential)" >&2
    exit 1
fi

rm -rf "$venv"
if ! "$python" -m venv "$venv"; then
    rm -rf "$venv"
    echo "setup.sh: '$python -m venv' failed (Debian: apt-get install python3-venv)" >&2
    exit 1
fi
if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
    --timeout 30 --retries 2 -q -r "$requirements"; then
    echo "setup.sh: pip install failed; building gssapi needs libkrb5-dev, build-essential" \
        "and the Python headers (Debian: python3-dev)" >&2
    exit 1
fi
cp "$requirements" "$stamp"
echo "setup.sh: client venv ready in $venv"
