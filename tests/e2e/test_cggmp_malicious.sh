#!/usr/bin/env bash
# End to end: a cheating CGGMP21 (threshold ECDSA) node is caught and NAMED,
# in every phase the paper's checks cover. Three `mpc-node` processes on
# 127.0.0.1 (2048-bit Paillier moduli, prime pools pre-filled with distinct
# lines of tests/mpc/fixtures/safe_primes_1024.txt); one runs the test-only
# `kashguard-evil` binary in a mode (env KG_MPC_EVIL, src/mpc/node_evil.h):
#   cg-bad-paillier  aux: N not Paillier-Blum      -> Πmod fails at nodes 1, 3
#   cg-bad-rped      aux: s not in <t>             -> Πprm fails at nodes 1, 3
#   cg-bad-enc       presign round 1: bad Πenc     -> nodes 1, 3 name node 2
#   cg-bad-mta       presign round 2: D with γ + 1 -> Πaff-g fails at nodes 1, 3
#   cg-bad-delta     presign round 3: δ_i + 1, every proof passes -> the δ
#                    check fails; the identification (CGGMP_BLAME kinds 1, 3)
#                    has nodes 1 and 3 name node 2
#   cg-bad-sigma     signing: σ_i + 1 -> the signature does not verify; the
#                    identification (kinds 2, 4) has nodes 1 and 3 name node 2
# Each time the command fails naming node 2, each honest node's verdict is in
# the error detail ("reported by node(s) 1, 3" / "node 1 names 2; node 3
# names 2") or its log, nothing is left active for the failed phase (no aux
# record; no new presignature record on any node), and the honest nodes then
# presign and sign (signature checked with OpenSSL). The keys are 3-of-3, so
# a presign cannot route around the cheater and the failure is visible.
# Also: the production binary contains none of the cheating code.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
EVIL=${KG_BUILD_DIR:-$(dirname "$KG")}/kashguard-evil
[ -x "$EVIL" ] || { echo "skip: $EVIL was not built (-DKG_EVIL_NODE=ON)" >&2; exit 77; }
SRC=${KG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PRIMES=$SRC/tests/mpc/fixtures/safe_primes_1024.txt
export KG_MPC_PAILLIER_BITS=2048

# Node i's pool: 4 shared pad lines (never taken: the pool's target is 4),
# then 8 lines of its own (an aux takes two from the end).
mpc_before_start() {
    [ -s "$TMP/node$1/cggmp-primes.txt" ] && return 0
    mkdir -p "$TMP/node$1"
    { sed -n '33,36p' "$PRIMES"; sed -n "$((1 + ($1 - 1) * 8)),$(($1 * 8))p" "$PRIMES"; } >"$TMP/node$1/cggmp-primes.txt"
}
start_node() { # start_node ID [EVIL_MODE]
    if [ -n "${2:-}" ]; then KG_MPC_EVIL=$2 MPC_NODE_BIN=$EVIL mpc_start_node "$1"; else mpc_start_node "$1"; fi
}
keygen() { "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 3 --scheme cggmp21-secp256k1 --json \
    >"$TMP/out" 2>"$TMP/err"; }
sign() { "$KG" mpc sign --ca-dir "$D" --key "$1" --digest "$2" --json >"$TMP/out" 2>"$TMP/err"; }
digest() { printf '%s' "$1" | sha256sum | cut -c1-64; }
# presig records on node $1 (names in its store)
npresig() { grep -ao "cggmp/$K/presig/[0-9a-f]\{64\}" "$TMP/node$1"/node.db* 2>/dev/null | sort -u | wc -l; }

# ecdsa_verify PUB_B64 DIGEST_HEX SIG_B64: OpenSSL checks r||s over the digest
ecdsa_verify() {
    { printf '3036301006072a8648ce3d020106052b8104000a032200' | xxd -r -p; printf '%s' "$1" | base64 -d; } >"$TMP/pub.der"
    openssl pkey -pubin -inform DER -in "$TMP/pub.der" -out "$TMP/pub.pem" 2>"$TMP/verr" || fail "bad public key $1"
    local sig r s
    sig=$(printf '%s' "$3" | base64 -d | xxd -p -c 64)
    [ ${#sig} -eq 128 ] || fail "signature is not 64 bytes"
    der_int() { local h=$1; while [ ${#h} -gt 2 ] && [ "${h:0:2}" = 00 ]; do h=${h:2}; done
        [ $((16#${h:0:1})) -ge 8 ] && h=00$h; printf '02%02x%s' $((${#h} / 2)) "$h"; }
    r=$(der_int "${sig:0:64}"); s=$(der_int "${sig:64:64}")
    printf '30%02x%s%s' $(((${#r} + ${#s}) / 2)) "$r" "$s" | xxd -r -p >"$TMP/sig.der"
    printf '%s' "$2" | xxd -r -p >"$TMP/dig.bin"
    openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -in "$TMP/dig.bin" -sigfile "$TMP/sig.der" \
        >"$TMP/vout" 2>"$TMP/verr" || fail "OpenSSL rejects the ECDSA signature"
}
# The honest nodes presign and sign with key $K afterwards.
honest_sign() {
    local d
    d=$(digest "after $1")
    sign "$K" "$d" || fail "honest signing after $1 failed: $(cat "$TMP/err")"
    ecdsa_verify "$PUB" "$d" "$(jq -r .signature "$TMP/out")"
}
# A presign/sign with the cheater must fail naming node 2 with each honest verdict.
must_fail_sign() { # must_fail_sign MODE REGEX
    local before1 before3 d
    before1=$(npresig 1); before3=$(npresig 3)
    start_node 2 "$1"
    d=$(digest "with $1")
    sign "$K" "$d" && fail "$1: a signature was made with a cheating node"
    grep -Eq "$2" "$TMP/err" || fail "$1: node 2 not named as expected ('$2'): $(cat "$TMP/err")"
    grep -q "party 2" "$TMP/err" || fail "$1: no 'party 2' for the audit: $(cat "$TMP/err")"
    echo "   $(grep -o 'Error: .*' "$TMP/err" | head -c 600)"
    [ "$(npresig 1)" -eq "$before1" ] && [ "$(npresig 3)" -eq "$before3" ] \
        || [ "$1" = cg-bad-sigma ] || fail "$1: a presignature of the failed presign was stored"
    start_node 2
    honest_sign "$1"
}
# An aux run with the cheater: keygen fails naming node 2, no aux stored.
must_fail_aux() { # must_fail_aux MODE REGEX
    local kid i
    start_node 2 "$1"
    keygen && fail "$1: keygen + aux with a cheating node succeeded"
    grep -Eq "$2" "$TMP/err" || fail "$1: node 2 not named as expected ('$2'): $(cat "$TMP/err")"
    grep -q "reported by node(s) 1, 3" "$TMP/err" || fail "$1: not both honest nodes named node 2: $(cat "$TMP/err")"
    grep -q "party 2 is to blame" "$TMP/err" || fail "$1: no 'party 2' for the audit: $(cat "$TMP/err")"
    echo "   $(grep -o 'Error: .*' "$TMP/err" | head -c 600)"
    kid=$(grep -o 'key mpc-[0-9a-f]*' "$TMP/err" | head -1 | cut -d' ' -f2)
    [ -n "$kid" ] || fail "$1: the error does not name the key"
    for i in 1 2 3; do
        ! grep -aq "cggmp/$kid/aux" "$TMP/node$i"/node.db* 2>/dev/null || fail "$1: node $i stored aux info of $kid"
    done
    start_node 2
}

step "the production binary has no CGGMP cheating code; the evil one has"
for m in cg-bad-paillier cg-bad-rped cg-bad-enc cg-bad-mta cg-bad-delta cg-bad-sigma kg_mpc_evil_cg_; do
    grep -aq -- "$m" "$KG" && fail "$KG contains the test-only cheat $m"
    grep -aq -- "$m" "$EVIL" || fail "$EVIL lacks the cheat $m"
done

step "ca-init, three nodes, an honest 3-of-3 cggmp21-secp256k1 key, presign and sign"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"
keygen || fail "honest keygen failed: $(cat "$TMP/err")"
K=$(jq -r .key_id "$TMP/out"); PUB=$(jq -r .public_key "$TMP/out")
honest_sign "keygen"
npresig 1 | grep -qx 1 || fail "node 1 does not list the used presignature ($(npresig 1))"

step "cg-bad-sigma (node 2): identification by every signer names node 2"
must_fail_sign cg-bad-sigma "party 2 failed its identification proof.*node 1 names 2; node 2 names nobody; node 3 names 2"
for i in 1 3; do grep -q "signature identification: party 2 is to blame" "$TMP/node$i.err" \
    || fail "node $i's log does not name node 2"; done

step "cg-bad-delta (node 2): the δ check fails, the identification names node 2"
must_fail_sign cg-bad-delta "node 2 failed its identification proof.*node 1 names 2; node 2 names nobody; node 3 names 2"
for i in 1 3; do grep -q "presign identification: party 2 is to blame" "$TMP/node$i.err" \
    || fail "node $i's log does not name node 2"; done

step "cg-bad-enc (node 2): Πenc refused by nodes 1 and 3"
must_fail_sign cg-bad-enc "node 2 .*round 1: .*reported by node\(s\) 1, 3"

step "cg-bad-mta (node 2): Πaff-g refused by nodes 1 and 3"
must_fail_sign cg-bad-mta "node 2 .*round 2: .*aff.*reported by node\(s\) 1, 3"

step "cg-bad-paillier (node 2): Πmod refused by nodes 1 and 3"
must_fail_aux cg-bad-paillier "aux info of key mpc-[0-9a-f]* aborted: node 2 .*mod does not verify"

step "cg-bad-rped (node 2): Πprm refused by nodes 1 and 3"
must_fail_aux cg-bad-rped "aux info of key mpc-[0-9a-f]* aborted: node 2 .*prm does not verify"

step "after all that, the honest nodes still presign and sign"
honest_sign "the cheaters"
echo "PASS"
