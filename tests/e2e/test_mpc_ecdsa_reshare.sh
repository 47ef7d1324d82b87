#!/usr/bin/env bash
# End to end: reshare of a threshold ECDSA (CGGMP21) key through the server
# API and the CLI (docs/mpc.md "Threshold ECDSA over the network").
# `kashguard server --dev --mpc-nodes 4` coordinates four node processes
# (2048-bit Paillier moduli, prime pools seeded from the test fixture through
# KG_MPC_DEV_PRIMES). A 2-of-3 cggmp21-secp256k1 key on nodes 1..3 is
# reshared (REST) to 3-of-4 with node 4 new, then (CLI) to 2-of-2 on nodes
# 2 and 4: every time the public key and chain code stay, the epoch goes up,
# and a signature made by the new set verifies under the key with OpenSSL
# (which we did not write). Between the two, node 4 is repaired (REST: a
# reshare to the same set, epoch + 1) and the record resynced (REST, then
# CLI after the last reshare: unchanged). Bad input is a 400 that changes
# nothing.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/mpc_lib.sh
. "$SRC/tests/e2e/mpc_lib.sh"

export KG_MPC_PAILLIER_BITS=2048
export KG_MPC_DEV_PRIMES="$SRC/tests/mpc/fixtures/safe_primes_1024.txt"

digest() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# der_int HEX: a DER INTEGER of the unsigned big-endian HEX.
der_int() {
    local h=$1
    while [ "${#h}" -gt 2 ] && [ "${h:0:2}" = 00 ]; do h=${h:2}; done
    case ${h:0:1} in [89a-f]) h=00$h ;; esac
    printf '02%02x%s' $((${#h} / 2)) "$h"
}
# verify_openssl DIGEST_HEX SIG_B64 PUB_B64: OpenSSL checks the ECDSA
# signature r || s of the digest under the compressed secp256k1 key.
verify_openssl() {
    local sig r s body
    sig=$(printf '%s' "$2" | base64 -d | xxd -p -c 256)
    [ "${#sig}" -eq 128 ] || fail "the signature is not 64 bytes"
    r=$(der_int "${sig:0:64}")
    s=$(der_int "${sig:64:64}")
    body=$r$s
    printf '30%02x%s' $((${#body} / 2)) "$body" | xxd -r -p >"$TMP/sig.der"
    { echo "-----BEGIN PUBLIC KEY-----"
      { printf '3036301006072a8648ce3d020106052b8104000a032200'; printf '%s' "$3" | base64 -d | xxd -p -c 256; } \
          | xxd -r -p | base64 -w 64
      echo "-----END PUBLIC KEY-----"; } >"$TMP/pub.pem"
    printf '%s' "$1" | xxd -r -p >"$TMP/dg.bin"
    openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -in "$TMP/dg.bin" -sigfile "$TMP/sig.der" >/dev/null 2>&1
}
sign_and_verify() { # sign_and_verify KEY TEXT
    local d st
    d=$(digest "$2")
    printf '{"digest":"%s"}' "$(printf '%s' "$d" | xxd -r -p | base64 -w0)" >"$TMP/s.json"
    st=$(http POST "/v1/mpc/keys/$1/sign" "$TMP/s.json")
    [ "$st" = 200 ] || fail "sign: HTTP $st: $(head -c 400 "$TMP/body")"
    [ "$(jq -r .public_key "$TMP/body")" = "$PUB" ] || fail "signed for another key: $(cat "$TMP/body")"
    verify_openssl "$d" "$(jq -r .signature "$TMP/body")" "$PUB" || fail "OpenSSL does not verify the signature"
    verify_openssl "$(digest "not $2")" "$(jq -r .signature "$TMP/body")" "$PUB" \
        && fail "OpenSSL verified the signature for another digest"
    return 0
}

step "dev server with four MPC nodes; a 2-of-3 cggmp21-secp256k1 key on nodes 1..3"
mpc_start_dev_server "$TMP/data" 4
printf '{"scheme":"cggmp21-secp256k1","threshold":2,"parties":3}' >"$TMP/kg.json"
st=$(http POST /v1/mpc/keys "$TMP/kg.json")
[ "$st" = 200 ] || fail "keygen: HTTP $st: $(head -c 400 "$TMP/body")"
KEY=$(jq -r .key_id "$TMP/body")
PUB=$(jq -r .public_key "$TMP/body")
CC=$(jq -r .chain_code "$TMP/body")
jq -e '.nodes == [1,2,3]' "$TMP/body" >/dev/null || fail "keygen nodes: $(cat "$TMP/body")"
sign_and_verify "$KEY" "before the reshare"

step "bad reshare requests are a 400 and change nothing"
printf '{"threshold":4,"parties":[1,2,3]}' >"$TMP/r.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/reshare" "$TMP/r.json"
printf '{"threshold":2,"parties":[1,1,2]}' >"$TMP/r.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/reshare" "$TMP/r.json"
printf '{"node":9}' >"$TMP/r.json" # not a holder
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/repair" "$TMP/r.json"
st=$(http GET "/v1/mpc/keys/$KEY")
jq -e '.epoch == 0 and .threshold == 2' "$TMP/body" >/dev/null || fail "the key changed: $(cat "$TMP/body")"

step "reshare (REST) 2-of-3 -> 3-of-4 with node 4 new: same key and chain code, epoch 1"
printf '{"threshold":3,"parties":[1,2,3,4]}' >"$TMP/r.json"
st=$(http POST "/v1/mpc/keys/$KEY/reshare" "$TMP/r.json")
[ "$st" = 200 ] || fail "reshare: HTTP $st: $(head -c 400 "$TMP/body")"
jq -e --arg p "$PUB" --arg c "$CC" '.public_key == $p and .chain_code == $c and .epoch == 1 and .threshold == 3
    and .nodes == [1,2,3,4]' "$TMP/body" >/dev/null || fail "reshare: $(cat "$TMP/body")"
st=$(http GET "/v1/mpc/keys/$KEY")
jq -e '.epoch == 1 and .threshold == 3' "$TMP/body" >/dev/null || fail "the record was not saved: $(cat "$TMP/body")"
sign_and_verify "$KEY" "3-of-4"

step "repair (REST) node 4: a reshare to the same set dealt by 3 others, epoch 2; resync changes nothing"
printf '{"node":4}' >"$TMP/r.json"
st=$(http POST "/v1/mpc/keys/$KEY/repair" "$TMP/r.json")
[ "$st" = 200 ] || fail "repair: HTTP $st: $(head -c 400 "$TMP/body")"
jq -e --arg p "$PUB" --arg c "$CC" '.public_key == $p and .chain_code == $c and .epoch == 2 and .threshold == 3
    and .nodes == [1,2,3,4] and .stale == []' "$TMP/body" >/dev/null || fail "repair: $(cat "$TMP/body")"
sign_and_verify "$KEY" "3-of-4 after the repair of node 4"
printf '{}' >"$TMP/r.json"
st=$(http POST "/v1/mpc/keys/$KEY/resync" "$TMP/r.json")
[ "$st" = 200 ] || fail "resync: HTTP $st: $(head -c 400 "$TMP/body")"
jq -e '.epoch == 2 and .threshold == 3 and .nodes == [1,2,3,4] and .stale == []' "$TMP/body" >/dev/null \
    || fail "resync: $(cat "$TMP/body")"

step "reshare (CLI) 3-of-4 -> 2-of-2 on nodes 2 and 4; resync (CLI) keeps it"
run 0 "$KG" mpc reshare --key "$KEY" --threshold 2 --parties 2,4 --json
jq -e --arg p "$PUB" '.public_key == $p and .epoch == 3 and .threshold == 2 and .nodes == [2,4]' "$TMP/out" >/dev/null \
    || fail "mpc reshare: $(cat "$TMP/out")"
sign_and_verify "$KEY" "2-of-2 on nodes 2 and 4"
run 0 "$KG" mpc resync --key "$KEY" --json
jq -e --arg p "$PUB" '.public_key == $p and .epoch == 3 and .threshold == 2 and .nodes == [2,4] and .stale == []' \
    "$TMP/out" >/dev/null || fail "mpc resync: $(cat "$TMP/out")"
echo "ok"
