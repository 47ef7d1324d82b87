#!/usr/bin/env bash
# End to end: a 3-of-5 FROST(Ed25519) key across five `kashguard mpc-node`
# processes on 127.0.0.1, made by the distributed key generation. Every
# signature is verified independently with OpenSSL (`pkeyutl -verify -rawin`
# on the 32-byte group key wrapped in an Ed25519 SubjectPublicKeyInfo).
# Then nodes are killed with SIGKILL: with two of five gone the remaining
# three still sign; with a third gone signing fails, and the error says how
# many nodes were reachable and which ones were not.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }
command -v xxd >/dev/null || { echo "skip: xxd is not installed" >&2; exit 77; }

declare -A NODE_PID NODE_PORT
node_cleanup() {
    for i in "${!NODE_PID[@]}"; do kill -KILL "${NODE_PID[$i]}" 2>/dev/null; wait "${NODE_PID[$i]}" 2>/dev/null; done
    cleanup
}
trap node_cleanup EXIT

D=$TMP/mpc
start_node() { # start_node ID: on a free port; waits for "listening"
    local id=$1 try i port
    for try in 1 2 3 4 5 6 7 8; do
        port=$((20000 + RANDOM % 40000))
        port_busy "$port" && continue
        "$KG" mpc-node --data "$TMP/node$id" --listen "127.0.0.1:$port" --ca "$D/ca.pem" \
            --cert "$TMP/node$id/node.pem" --key "$TMP/node$id/node.key" --id "$id" \
            >>"$TMP/node$id.out" 2>>"$TMP/node$id.err" &
        NODE_PID[$id]=$!
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

kill_node() {
    kill -KILL "${NODE_PID[$1]}"; wait "${NODE_PID[$1]}" 2>/dev/null; unset "NODE_PID[$1]"
}

pub_pem() { # pub_pem PUB_B64: $TMP/pub.pem
    { printf '302a300506032b6570032100' | xxd -r -p; printf '%s' "$1" | base64 -d; } >"$TMP/pub.der"
    openssl pkey -pubin -inform DER -in "$TMP/pub.der" -out "$TMP/pub.pem" 2>"$TMP/err" || fail "bad public key"
}

verify_sig() { # verify_sig MSG_FILE SIG_B64 (against $TMP/pub.pem)
    printf '%s' "$2" | base64 -d >"$TMP/sig.bin"
    [ "$(stat -c %s "$TMP/sig.bin")" -eq 64 ] || fail "signature is not 64 bytes"
    openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$1" -sigfile "$TMP/sig.bin" \
        >"$TMP/out" 2>"$TMP/err" || fail "OpenSSL rejects the signature"
}

sign_and_verify() { # sign_and_verify MSG_FILE
    run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$1"
    verify_sig "$1" "$(cat "$TMP/out")"
}

step "ca-init and five node certificates"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3 4 5; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done

step "start five nodes"
for i in 1 2 3 4 5; do start_node "$i"; done
NODES=
for i in 1 2 3 4 5; do NODES="$NODES${NODES:+,}$i@127.0.0.1:${NODE_PORT[$i]}"; done

step "keygen 3-of-5 frost-ed25519 (DKG across the five processes)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 3 --scheme frost-ed25519 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
[ -n "$KEY" ] && [ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 32 ] || fail "bad keygen output"
for i in 1 2 3 4 5; do [ "$(stat -c %a "$TMP/node$i/seal.key")" = 600 ] || fail "node $i seal.key is not 0600"; done
pub_pem "$PUB"

step "sign with all five up, verify with OpenSSL"
printf 'transfer 3 of 5\n' >"$TMP/msg1"
sign_and_verify "$TMP/msg1"
printf 'x' >>"$TMP/msg1"
openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$TMP/msg1" -sigfile "$TMP/sig.bin" \
    >/dev/null 2>&1 && fail "OpenSSL accepted the signature over another message"

step "kill -9 nodes 1 and 3: nodes 2, 4 and 5 sign"
kill_node 1
kill_node 3
printf 'signed by the remaining three' >"$TMP/msg2"
sign_and_verify "$TMP/msg2"
printf 'and a second one' >"$TMP/msg3"
sign_and_verify "$TMP/msg3"

step "kill -9 node 4 too: two nodes are not enough, and the error says so"
kill_node 4
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg2"
grep -q "only 2 of the 3 nodes needed are reachable" "$TMP/err" || fail "the error does not count the reachable nodes"
for i in 1 3 4; do grep -q "node $i " "$TMP/err" || fail "the error does not name unreachable node $i"; done
grep -q "node 2 \|node 5 " "$TMP/err" && fail "the error names a node that is up"

echo "PASS"
