#!/usr/bin/env bash
# End to end: a 3-of-5 FROST(Ed25519) key across five `kashguard mpc-node`
# processes on 127.0.0.1, made by the distributed key generation. Every
# signature is verified independently with OpenSSL (`pkeyutl -verify -rawin`
# on the 32-byte group key wrapped in an Ed25519 SubjectPublicKeyInfo).
# Then nodes are killed with SIGKILL: with two of five gone the remaining
# three still sign; with a third gone signing fails, and the error says how
# many nodes were reachable and which ones were not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"

sign_and_verify() { # sign_and_verify MSG_FILE
    run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$1"
    ed25519_verify "$PUB" "$1" "$(cat "$TMP/out")"
}

step "ca-init and five node certificates"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3 4 5; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done

step "start five nodes"
for i in 1 2 3 4 5; do mpc_start_node "$i"; done
NODES=
for i in 1 2 3 4 5; do NODES="$NODES${NODES:+,}$(mpc_addr "$i")"; done

step "keygen 3-of-5 frost-ed25519 (DKG across the five processes)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 3 --scheme frost-ed25519 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
[ -n "$KEY" ] && [ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 32 ] || fail "bad keygen output"
for i in 1 2 3 4 5; do [ "$(stat -c %a "$TMP/node$i/seal.key")" = 600 ] || fail "node $i seal.key is not 0600"; done

step "sign with all five up, verify with OpenSSL"
printf 'transfer 3 of 5\n' >"$TMP/msg1"
sign_and_verify "$TMP/msg1"
printf 'x' >>"$TMP/msg1"
openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$TMP/msg1" -sigfile "$TMP/sig.bin" \
    >/dev/null 2>&1 && fail "OpenSSL accepted the signature over another message"

step "kill -9 nodes 1 and 3: nodes 2, 4 and 5 sign"
mpc_kill_node 1
mpc_kill_node 3
printf 'signed by the remaining three' >"$TMP/msg2"
sign_and_verify "$TMP/msg2"
printf 'and a second one' >"$TMP/msg3"
sign_and_verify "$TMP/msg3"

step "kill -9 node 4 too: two nodes are not enough, and the error says so"
mpc_kill_node 4
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
grep -q "only 2 of the 3 nodes needed are reachable" "$TMP/err" || fail "the error does not count the reachable nodes"
for i in 1 3 4; do grep -q "node $i " "$TMP/err" || fail "the error does not name unreachable node $i"; done
grep -q "node 2 \|node 5 " "$TMP/err" && fail "the error names a node that is up"

echo "PASS"
