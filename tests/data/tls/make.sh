#!/bin/sh
# Regenerates the test certificates (public parts only; the keys are thrown away): one per
# signature algorithm RFC 5929 §4.1 treats differently. Run from this directory.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cert() { # name, key options, signing options
    name=$1; shift
    openssl req -x509 -new -nodes -days 36500 -subj "/CN=localhost" "$@" \
        -keyout "$tmp/$name.key" -out "$tmp/$name.pem" 2>/dev/null
    openssl x509 -in "$tmp/$name.pem" -outform der -out "$name.der"
}
cert rsa-sha256 -newkey rsa:2048 -sha256
cert rsa-sha1 -newkey rsa:2048 -sha1
cert rsa-sha512 -newkey rsa:2048 -sha512
cert ecdsa-sha384 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384
cert rsa-pss-sha384 -newkey rsa-pss -pkeyopt rsa_keygen_bits:2048 -sha384 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48
cert ed25519 -newkey ed25519
openssl dgst -sha256 -r rsa-sha256.der | cut -d' ' -f1 > rsa-sha256.sha256
for f in *.der; do
    printf '%s: ' "$f"
    openssl x509 -inform der -in "$f" -noout -text | grep -m1 'Signature Algorithm' | sed 's/^ *//'
done
