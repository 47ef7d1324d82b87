#!/usr/bin/env bash
# End to end: a cheating MPC node is caught and NAMED. Three `mpc-node`
# processes on 127.0.0.1; one of them runs the test-only `kashguard-evil`
# binary (built with -DKG_MPC_EVIL=1, src/mpc/node_evil.h) in a cheating
# mode (env KG_MPC_EVIL):
#   bad-proof   round-1 proof of knowledge corrupted -> every other node and
#               the coordinator reject it
#   bad-share   one sealed round-2 share corrupted   -> its receiver names it
#   equivocate  its DKG confirmation carries another signed round-1
#               broadcast -> the echo check proves the equivocation
#   bad-result  it reports a wrong group key          -> the coordinator names it
#   bad-sig-share  a wrong signature share            -> aggregation names it;
#               a wrong BIP 445 psig (frost-secp256k1-tr) -> the coordinator
#               names it (the preprocessed path and failover mid-session are
#               in test_mpc_tr_net.c)
# For each DKG mode: `mpc keygen` exits non-zero, the message names the
# culprit, no key record is written, no node holds a share of the key id
# (a sign with a record of that id fails with "no key" from the nodes), and
# an honest DKG afterwards works (signature checked with OpenSSL).
# Also: the production binary contains none of the cheating code.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
EVIL=${KG_BUILD_DIR:-$(dirname "$KG")}/kashguard-evil
[ -x "$EVIL" ] || { echo "skip: $EVIL was not built (-DKG_EVIL_NODE=ON)" >&2; exit 77; }

start_node() { # start_node ID [EVIL_MODE]: the evil binary when a mode is given
    if [ -n "${2:-}" ]; then KG_MPC_EVIL=$2 MPC_NODE_BIN=$EVIL mpc_start_node "$1"; else mpc_start_node "$1"; fi
}

keygen() { "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme frost-ed25519 --json \
    >"$TMP/out" 2>"$TMP/err"; }
nkeys() { find "$D/keys" -name '*.json' | wc -l; }

# A failed DKG: non-zero exit, culprit and reason named, nothing left anywhere.
dkg_must_fail() { # dkg_must_fail CULPRIT REASON_REGEX
    local before rc kid i
    before=$(nkeys)
    keygen; rc=$?
    [ "$rc" -ne 0 ] || fail "keygen with a cheating node $1 succeeded"
    grep -q "DKG aborted: node $1 " "$TMP/err" || fail "node $1 is not named: $(cat "$TMP/err")"
    grep -Eq "$2" "$TMP/err" || fail "reason '$2' missing: $(cat "$TMP/err")"
    [ "$(nkeys)" -eq "$before" ] || fail "a key record was written for a failed DKG"
    kid=$(grep -o 'key mpc-[0-9a-f]* was not created' "$TMP/err" | cut -d' ' -f2)
    [ -n "$kid" ] || fail "the error does not say which key id was not created"
    cp "$TMP/err" "$TMP/dkgerr"
    for i in 1 2 3; do # the honest nodes never stored anything for it
        [ "$i" = "$1" ] && continue
        ! grep -aq "$kid" "$TMP/node$i"/node.db* 2>/dev/null || fail "node $i stored something for $kid"
    done
    # A record of that id (made from the honest key's) cannot sign: the nodes have no share.
    jq --arg k "$kid" '.key_id = $k' "$D/keys/$HONEST.json" >"$D/keys/$kid.json"
    "$KG" mpc sign --ca-dir "$D" --key "$kid" --message hi >"$TMP/out" 2>"$TMP/err" && fail "signed with $kid"
    grep -q "no key $kid" "$TMP/err" || fail "sign with $kid did not fail with 'no key': $(cat "$TMP/err")"
    rm -f "$D/keys/$kid.json"
    cp "$TMP/dkgerr" "$TMP/err"
    echo "   $(grep -o 'DKG aborted: .*' "$TMP/err" | head -1)"
}

step "the production binary has no cheating code; the evil one has"
grep -aq KG_MPC_EVIL "$KG" && fail "$KG contains the test-only cheating code"
grep -aq KG_MPC_EVIL "$EVIL" || fail "$EVIL does not contain the cheating code"

step "ca-init, three nodes, an honest 2-of-3 key"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"
keygen || fail "honest keygen failed: $(cat "$TMP/err")"
HONEST=$(jq -r .key_id "$TMP/out"); HPUB=$(jq -r .public_key "$TMP/out")
printf 'pay 1 BTC to bob\n' >"$TMP/msg"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$HONEST" --message "@$TMP/msg"
ed25519_verify "$HPUB" "$TMP/msg" "$(cat "$TMP/out")"

step "the evil binary with no known mode is honest"
start_node 2 none
keygen || fail "keygen with the evil binary in mode 'none' failed: $(cat "$TMP/err")"
start_node 2

step "bad-proof (node 2): the coordinator and nodes 1 and 3 name node 2"
start_node 2 bad-proof
dkg_must_fail 2 "invalid proof of knowledge"
grep -q "reported by nodes 1, 3; confirmed by the coordinator" "$TMP/err" || fail "not every verdict is reported"
start_node 2

step "bad-share (node 3 corrupts its share to node 1): node 1 names node 3"
start_node 3 bad-share
dkg_must_fail 3 "invalid secret share.*reported by node 1"
start_node 3

step "equivocate (node 1): the echo check proves it"
start_node 1 equivocate
dkg_must_fail 1 "equivocated.*reported by nodes 2, 3"
start_node 1

step "bad-result (node 2): the coordinator names it"
start_node 2 bad-result
dkg_must_fail 2 "group key or public shares that do not follow from the round-1 commitments"
start_node 2

step "bad-sig-share (node 2) with the honest key: the signature is refused, node 2 named"
start_node 2 bad-sig-share
"$KG" mpc sign --ca-dir "$D" --key "$HONEST" --message "@$TMP/msg" >"$TMP/out" 2>"$TMP/err" \
    && fail "a wrong signature share was accepted"
grep -q "invalid signature shares from node(s) 2" "$TMP/err" || fail "node 2 not named: $(cat "$TMP/err")"

step "bad-sig-share (node 2) with a frost-secp256k1-tr key: its BIP 445 psig is refused, node 2 named"
"$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme frost-secp256k1-tr --json \
    >"$TMP/out" 2>"$TMP/err" || fail "taproot keygen failed: $(cat "$TMP/err")"
KTR=$(jq -r .key_id "$TMP/out")
for t in "" --taproot; do
    "$KG" mpc sign --ca-dir "$D" --key "$KTR" --message "@$TMP/msg" $t >"$TMP/out" 2>"$TMP/err" \
        && fail "a wrong BIP 445 partial signature was accepted ($t)"
    grep -q "invalid BIP 445 partial signatures from node(s) 2" "$TMP/err" || fail "node 2 not named: $(cat "$TMP/err")"
done
start_node 2
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KTR" --message "@$TMP/msg" --taproot

step "after all that, honest nodes make and use a new key"
keygen || fail "honest keygen failed: $(cat "$TMP/err")"
K2=$(jq -r .key_id "$TMP/out"); P2=$(jq -r .public_key "$TMP/out")
run 0 "$KG" mpc sign --ca-dir "$D" --key "$K2" --message "@$TMP/msg"
ed25519_verify "$P2" "$TMP/msg" "$(cat "$TMP/out")"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$HONEST" --message "@$TMP/msg"
ed25519_verify "$HPUB" "$TMP/msg" "$(cat "$TMP/out")"

echo "PASS"
