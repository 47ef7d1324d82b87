#!/usr/bin/env bash
# BYOK end to end, with OpenSSL as the independent party that makes and wraps
# the key material, exactly as docs/kms.md tells a user to:
#  1. an AES-256 key wrapped with RSAES_OAEP_SHA_256; what the KMS encrypts
#     with it decrypts with the same bytes outside (AES-256-GCM in Python's
#     `cryptography`, when installed), so the KMS really uses the imported key;
#  2. a P-256 key in SEC1 DER (what `openssl genpkey -outform DER` writes)
#     wrapped with RSA_AES_KEY_WRAP_SHA_256 (OAEP-wrapped AES key + RFC 5649
#     key wrap by `openssl enc -id-aes256-wrap-pad`); the KMS's signature
#     verifies with the public key OpenSSL derives from the original;
#  3. an RSA-3072 key in PKCS#8 the same way;
#  4. misuse: a reused import token, a wrong spec for the material, and
#     damaged wrapped material are each refused and create no key.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }

start_server "$TMP/data"
cd "$TMP" || exit 1
hexof() { od -An -tx1 "$1" | tr -d ' \n'; }
oaep() { openssl pkeyutl -encrypt -pubin -inkey "$1" -in "$2" -out "$3" \
           -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256; }
params() { run 0 "$KG" key import-params --json; cp "$TMP/out" params.json
           jq -r .public_key_pem params.json > wrap.pem; jq -r .import_token params.json; }
kwp_wrap() { # kwp_wrap MATERIAL OUT: RSA_AES_KEY_WRAP_SHA_256 of MATERIAL
    openssl rand 32 > eph.key
    oaep wrap.pem eph.key eph.wrapped || fail "openssl OAEP failed"
    openssl enc -id-aes256-wrap-pad -K "$(hexof eph.key)" -iv A65959A6 -in "$1" -out kwp.bin || fail "openssl key wrap failed"
    cat eph.wrapped kwp.bin > "$2"
}

step "AES_256 material wrapped with RSAES_OAEP_SHA_256"
token=$(params)
openssl rand 32 > aes.key
oaep wrap.pem aes.key aes.wrapped || fail "openssl OAEP failed"
run 0 "$KG" key import --spec AES_256 --alias byok-aes --wrapping-algorithm RSAES_OAEP_SHA_256 \
    --import-token "$token" --wrapped-material @aes.wrapped
run 0 "$KG" key get byok-aes --json
[ "$(jq -r .origin "$TMP/out")" = imported ] || fail "origin is not imported"
printf 'imported and used' > pt.txt
run 0 "$KG" encrypt --key byok-aes --plaintext @pt.txt --context tenant=7
cp "$TMP/out" ct.b64
run 0 "$KG" decrypt --ciphertext @ct.b64 --context tenant=7
cmp -s "$TMP/out" pt.txt || fail "round trip through the imported key failed"

step "the KMS ciphertext opens outside with the imported bytes"
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
    /usr/bin/python3 - aes.key ct.b64 <<'PY' || fail "local AES-GCM decryption of the KMS ciphertext failed"
import base64, json, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = open(sys.argv[1], "rb").read()
ct = base64.b64decode(open(sys.argv[2]).read().strip())
# "KGC1" | id_len | id | version(4) | iv(12) | ciphertext | tag(16)   (docs/kms.md)
n = ct[4]
header = ct[:5 + n + 4]
iv, body = ct[len(header):len(header) + 12], ct[len(header) + 12:]
aad = header + json.dumps({"tenant": "7"}, separators=(",", ":"), sort_keys=True).encode()
pt = AESGCM(key).decrypt(iv, body, aad)
assert pt == b"imported and used", pt
print("decrypted locally:", pt.decode())
PY
else
    echo "   (python3-cryptography not installed: local check skipped)"
fi

step "a reused import token is refused"
expect_err not_found "$KG" key import --spec AES_256 --alias byok-again --wrapping-algorithm RSAES_OAEP_SHA_256 \
    --import-token "$token" --wrapped-material @aes.wrapped
expect_err not_found "$KG" key get byok-again

step "ECC_NIST_P256 in SEC1 DER, wrapped with RSA_AES_KEY_WRAP_SHA_256"
token=$(params)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out ec.der 2>/dev/null || fail "genpkey"
kwp_wrap ec.der ec.wrapped
run 0 "$KG" key import --spec ECC_NIST_P256 --alias byok-ec --import-token "$token" --wrapped-material @ec.wrapped
printf 'sign me' > msg.txt
run 0 "$KG" sign --key byok-ec --message @msg.txt --out msg.sig
openssl pkey -inform DER -in ec.der -pubout -out ec.pub.pem 2>/dev/null || fail "pkey"
openssl dgst -sha256 -verify ec.pub.pem -signature msg.sig msg.txt | grep -q 'Verified OK' \
    || fail "the imported key's signature does not verify with the original public key"

step "RSA_3072 in PKCS#8, wrapped with RSA_AES_KEY_WRAP_SHA_256"
token=$(params)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.pem 2>/dev/null || fail "genpkey"
openssl pkcs8 -topk8 -nocrypt -in rsa.pem -outform DER -out rsa.p8 || fail "pkcs8"
kwp_wrap rsa.p8 rsa.wrapped
run 0 "$KG" key import --spec RSA_3072 --alias byok-rsa --import-token "$token" --wrapped-material @rsa.wrapped
run 0 "$KG" sign --key byok-rsa --message @msg.txt --out rsa.sig
openssl pkey -in rsa.pem -pubout -out rsa.pub.pem
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -verify rsa.pub.pem \
    -signature rsa.sig msg.txt | grep -q 'Verified OK' || fail "RSA-PSS signature of the imported key does not verify"

step "material of the wrong type and damaged material create nothing"
run 0 "$KG" key list --json
before=$(jq '.keys | length' "$TMP/out")
token=$(params)
kwp_wrap ec.der ec2.wrapped
expect_err bad_input "$KG" key import --spec ECC_SECG_P256K1 --alias wrong-type --import-token "$token" --wrapped-material @ec2.wrapped
token=$(params)
kwp_wrap ec.der ec3.wrapped
printf '\x01' | dd of=ec3.wrapped bs=1 seek=400 conv=notrunc 2>/dev/null
expect_err bad_input "$KG" key import --spec ECC_NIST_P256 --alias damaged --import-token "$token" --wrapped-material @ec3.wrapped
run 0 "$KG" key list --json
[ "$(jq '.keys | length' "$TMP/out")" = "$before" ] || fail "a refused import created a key"
echo "PASS: BYOK import (OAEP and RSA-AES key wrap, SEC1 and PKCS#8) verified against OpenSSL"
