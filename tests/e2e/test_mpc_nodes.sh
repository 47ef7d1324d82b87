#!/usr/bin/env bash
# End to end: a 2-of-3 FROST(Ed25519) key across three `kashguard mpc-node`
# processes on 127.0.0.1, made by the distributed key generation and used by
# `kashguard mpc sign`. Each signature is checked independently with OpenSSL
# (the 32-byte group key wrapped in an Ed25519 SubjectPublicKeyInfo). Then one
# node is killed with SIGKILL: signing goes on with the other two; the node
# is restarted on the same data directory and takes part again.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }

declare -A NODE_PID NODE_PORT
node_cleanup() {
    for i in "${!NODE_PID[@]}"; do kill -KILL "${NODE_PID[$i]}" 2>/dev/null; wait "${NODE_PID[$i]}" 2>/dev/null; done
    cleanup
}
trap node_cleanup EXIT

D=$TMP/mpc
start_node() { # start_node ID: picks a free port the first time, reuses it after
    local id=$1 try
    for try in 1 2 3 4 5 6 7 8; do
        local port=${NODE_PORT[$id]:-$((20000 + RANDOM % 40000))}
        port_busy "$port" && { [ -n "${NODE_PORT[$id]:-}" ] && sleep 0.2; continue; }
        "$KG" mpc-node --data "$TMP/node$id" --listen "127.0.0.1:$port" --ca "$D/ca.pem" \
            --cert "$TMP/node$id/node.pem" --key "$TMP/node$id/node.key" --id "$id" \
            >>"$TMP/node$id.out" 2>>"$TMP/node$id.err" &
        NODE_PID[$id]=$!
        local i
        for i in $(seq 1 100); do
            kill -0 "${NODE_PID[$id]}" 2>/dev/null || break
            if grep -q "listening" "$TMP/node$id.err" 2>/dev/null && port_busy "$port"; then
                NODE_PORT[$id]=$port
                return 0
            fi
            sleep 0.1
        done
        kill -KILL "${NODE_PID[$id]}" 2>/dev/null; wait "${NODE_PID[$id]}" 2>/dev/null
    done
    cat "$TMP/node$id.err" >&2
    fail "node $id did not come up"
}

verify_sig() { # verify_sig PUB_B64 MSG_FILE SIG_B64
    { printf '302a300506032b6570032100' | xxd -r -p; printf '%s' "$1" | base64 -d; } >"$TMP/pub.der"
    openssl pkey -pubin -inform DER -in "$TMP/pub.der" -out "$TMP/pub.pem" 2>"$TMP/err" || fail "bad public key"
    printf '%s' "$3" | base64 -d >"$TMP/sig.bin"
    [ "$(stat -c %s "$TMP/sig.bin")" -eq 64 ] || fail "signature is not 64 bytes"
    openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$2" -sigfile "$TMP/sig.bin" \
        >"$TMP/out" 2>"$TMP/err" || fail "OpenSSL rejects the signature"
}
command -v xxd >/dev/null || { echo "skip: xxd is not installed" >&2; exit 77; }

step "ca-init and three node certificates"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do
    run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"
    [ "$(stat -c %a "$TMP/node$i/envelope.key")" = 600 ] || fail "envelope.key is not 0600"
    [ "$(stat -c %a "$TMP/node$i/node.key")" = 600 ] || fail "node.key is not 0600"
done
run 1 "$KG" mpc node-cert --ca-dir "$D" --id 1 --out "$TMP/node1"

step "start three nodes"
for i in 1 2 3; do start_node "$i"; done
NODES="1@127.0.0.1:${NODE_PORT[1]},2@127.0.0.1:${NODE_PORT[2]},3@127.0.0.1:${NODE_PORT[3]}"

step "keygen 2-of-3 frost-ed25519"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme frost-ed25519 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
[ -n "$KEY" ] && [ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 32 ] || fail "bad keygen output"
for i in 1 2 3; do [ "$(stat -c %a "$TMP/node$i/seal.key")" = 600 ] || fail "seal.key is not 0600"; done

step "sign with nodes 1 and 2, verify with OpenSSL"
printf 'pay 1 BTC to bob\n' >"$TMP/msg"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
verify_sig "$PUB" "$TMP/msg" "$(cat "$TMP/out")"
printf 'another message' >"$TMP/msg2"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
verify_sig "$PUB" "$TMP/msg2" "$(cat "$TMP/out")"
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
kill -KILL "${NODE_PID[1]}"; wait "${NODE_PID[1]}" 2>/dev/null; unset 'NODE_PID[1]'
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
verify_sig "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

step "kill node 2 too: one node is not enough"
kill -KILL "${NODE_PID[2]}"; wait "${NODE_PID[2]}" 2>/dev/null; unset 'NODE_PID[2]'
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
grep -q "reachable" "$TMP/err" || fail "no reachability error"

step "restart node 1 on its data: it signs again (with node 3)"
start_node 1
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
verify_sig "$PUB" "$TMP/msg2" "$(cat "$TMP/out")"
start_node 2
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
verify_sig "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

echo "PASS"
