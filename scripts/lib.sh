# shellcheck shell=bash
# Shared by scripts/demo.sh, scripts/test.sh and .ci/run: source it, do not run it.

# Debian/Ubuntu packages that building the crate needs (libgssapi-sys runs bindgen, which loads
# libclang, on the MIT krb5 headers).
BUILD_PACKAGES=(build-essential pkg-config libkrb5-dev libclang-dev)
# Packages that the tests and the demo need: a KDC and kadmin.local for the throwaway realm,
# kinit/klist, and a curl that speaks --negotiate.
RUNTIME_PACKAGES=(krb5-kdc krb5-admin-server krb5-user curl)
# Only the tests: faketime skews a client's clock (tests/mit/tickets.rs); browsers, OCR and what
# pip needs to build python-gssapi for the real-client tests (tests/mit/real_clients.rs); openssl
# and MIT's PKINIT plugin for a realm that issues anonymous tickets (tests/anonymous.rs); a
# Samba AD DC for what only Active Directory has (tests/active_directory.rs); a Redis server (and
# redis-cli) for the shared replay store (openssl makes its TLS certificates); gssproxy for a server
# that never reads its keytab (tests/gssproxy.rs, tests/gssproxy_ad.rs; the package starts no
# daemon without systemd); OpenLDAP (slapd, ldap-utils) for the LDAP group source (TestSlapd).
TEST_PACKAGES=(faketime firefox-esr chromium tesseract-ocr python3-venv python3-dev openssl krb5-pkinit
    samba samba-ad-provision samba-ad-dc ldb-tools redis-server redis-tools nginx-light caddy gssproxy
    slapd ldap-utils)
# Only scripts/bench.sh: the Apache mod_auth_gssapi (and mod_proxy) it compares against, wrk, and
# nginx for the rows in front of an application (`--front`).
BENCH_PACKAGES=(apache2 libapache2-mod-auth-gssapi wrk redis-server nginx-light)

# kdb5_util, kadmin.local and krb5kdc live in /usr/sbin, which a normal user's PATH may lack.
case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) PATH="$PATH:/usr/sbin" ;;
esac
case ":$PATH:" in
    *:/sbin:*) ;;
    *) PATH="$PATH:/sbin" ;;
esac
export PATH

# ensure_packages PKG...: installs the packages that are not installed yet, with apt-get (as
# root, else through sudo); without either, prints the command to run and exits 1.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    local install=(apt-get install -y -q --no-install-recommends "${missing[@]}")
    echo "Installing missing packages: ${missing[*]}" >&2
    # slapd's postinst would make a directory of its own and start a system slapd on port
    # 389; the tests run their own (TestSlapd), so it is told to make nothing.
    local preseed="slapd slapd/no_configuration boolean true"
    if ((EUID == 0)); then
        echo "$preseed" | debconf-set-selections
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${install[@]}"
    elif command -v sudo >/dev/null 2>&1; then
        echo "$preseed" | sudo debconf-set-selections
        sudo apt-get update -q
        sudo env DEBIAN_FRONTEND=noninteractive "${install[@]}"
    else
        echo "Missing packages: ${missing[*]}. Install them as root:" >&2
        echo "  apt-get update && ${install[*]}" >&2
        exit 1
    fi
}

# ensure_all_packages: what building, testing and running the demo need.
ensure_all_packages() {
    ensure_packages "${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
}
