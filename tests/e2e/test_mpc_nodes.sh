#!/usr/bin/env bash
# End to end: a 2-of-3 FROST(Ed25519) key across three `kashguard mpc-node`
# processes on 127.0.0.1, made by the distributed key generation and used by
# `kashguard mpc sign`. Each signature is checked independently with OpenSSL
# (the 32-byte group key wrapped in an Ed25519 SubjectPublicKeyInfo). Then one
# node is killed with SIGKILL: signing goes on with the other two; the node
# is restarted on the same data directory and takes part again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"

step "ca-init and three node certificates"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do
    run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"
    [ "$(stat -c %a "$TMP/node$i/envelope.key")" = 600 ] || fail "envelope.key is not 0600"
    [ "$(stat -c %a "$TMP/node$i/node.key")" = 600 ] || fail "node.key is not 0600"
done
run 1 "$KG" mpc node-cert --ca-dir "$D" --id 1 --out "$TMP/node1"

step "start three nodes"
for i in 1 2 3; do mpc_start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"

step "keygen 2-of-3 frost-ed25519"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme frost-ed25519 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
[ -n "$KEY" ] && [ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 32 ] || fail "bad keygen output"
for i in 1 2 3; do [ "$(stat -c %a "$TMP/node$i/seal.key")" = 600 ] || fail "seal.key is not 0600"; done

step "sign with nodes 1 and 2, verify with OpenSSL"
printf 'pay 1 BTC to bob\n' >"$TMP/msg"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"
printf 'another message' >"$TMP/msg2"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
ed25519_verify "$PUB" "$TMP/msg2" "$(cat "$TMP/out")"
cp "$TMP/msg2" "$TMP/msg3"; printf x >>"$TMP/msg3"
openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$TMP/msg3" -sigfile "$TMP/sig.bin" \
    >/dev/null 2>&1 && fail "OpenSSL accepted a signature over another message"

step "unknown key and a second keygen with a wrong threshold are refused"
run 1 "$KG" mpc sign --ca-dir "$D" --key mpc-nope --message hi
run 1 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 4

step "a frost-p256 key on the same nodes (the coordinator verifies the aggregate)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 3 --scheme frost-p256 --json
P256=$(jq -r .key_id "$TMP/out")
[ "$(jq -r .public_key "$TMP/out" | base64 -d | wc -c)" -eq 33 ] || fail "bad P-256 group key"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$P256" --message hello
[ "$(base64 -d <"$TMP/out" | wc -c)" -eq 65 ] || fail "bad P-256 signature size"

step "a node certificate cannot act as the coordinator"
mkdir -p "$TMP/fake" && cp -r "$D/keys" "$D/nodes" "$D/ca.pem" "$TMP/fake/"
cp "$TMP/node2/node.pem" "$TMP/fake/coordinator.pem"; cp "$TMP/node2/node.key" "$TMP/fake/coordinator.key"
run 2 "$KG" mpc sign --ca-dir "$TMP/fake" --key "$KEY" --message "@$TMP/msg"
grep -q "refused party 2" "$TMP/node1.err" || fail "node 1 did not refuse party 2"

step "kill -9 node 1: sign with nodes 2 and 3"
mpc_kill_node 1
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

step "kill node 2 too: one node is not enough"
mpc_kill_node 2
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
grep -q "reachable" "$TMP/err" || fail "no reachability error"

step "restart node 1 on its data: it signs again (with node 3)"
mpc_start_node 1
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
ed25519_verify "$PUB" "$TMP/msg2" "$(cat "$TMP/out")"
mpc_start_node 2
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

echo "PASS"
