#!/usr/bin/env bash
# End to end: `kashguard mpc-node` seal keys under a passphrase
# (src/mpc/node_seal.c). Three nodes on 127.0.0.1:
#   node 1 starts without a passphrase (plaintext seal.key), node 2 with
#   env KASHGUARD_NODE_PASSPHRASE, node 3 with --passphrase-file: 2 and 3
#   hold only seal.key.enc (recorded Argon2id parameters, no plaintext).
#   A 2-of-3 Ed25519 key; signatures checked with OpenSSL.
#   Node 1 restarted with a passphrase: its seal.key is converted (wrapped,
#   plaintext removed) and its share still signs.
#   Node 2 with a wrong passphrase, or none: it refuses to start with a
#   clear message, and no file of its data directory changes.
#   Node 2 with the right passphrase again: 1+2 and 2+3 sign.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
command -v jq >/dev/null || { echo "skip: jq is not installed" >&2; exit 77; }

printf 'correct horse battery staple\n' >"$TMP/pass3"
printf 'node one passphrase' >"$TMP/pass1"
chmod 600 "$TMP/pass1" "$TMP/pass3"
P2='a passphrase for node 2'

# The node's files and their hashes (to prove a refused start changed nothing).
snapshot() { (cd "$TMP/node$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
# node_must_refuse ID [PREFIX...]: node ID in the foreground (its command
# line after PREFIX, e.g. env -u VAR) must fail to start (60 s at most).
node_must_refuse() {
    local id=$1 rc
    shift
    mpc_node_argv "$id" $((20000 + RANDOM % 40000))
    timeout 60 "$@" "${MPC_ARGV[@]}" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "node $id started (or hung, rc $rc) instead of refusing"
}
PASS1="--passphrase-file $TMP/pass1" PASS3="--passphrase-file $TMP/pass3"

step "ca-init; node 1 plain, node 2 with the env passphrase, node 3 with --passphrase-file"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
mpc_start_node 1
KASHGUARD_NODE_PASSPHRASE=$P2 mpc_start_node 2
MPC_NODE_ARGS=$PASS3 mpc_start_node 3
[ -f "$TMP/node1/seal.key" ] && [ ! -e "$TMP/node1/seal.key.enc" ] || fail "node 1 should have a plaintext seal.key"
for i in 2 3; do
    [ -f "$TMP/node$i/seal.key.enc" ] || fail "node $i has no seal.key.enc"
    [ ! -e "$TMP/node$i/seal.key" ] || fail "node $i has a plaintext seal.key"
    [ "$(stat -c %a "$TMP/node$i/seal.key.enc")" = 600 ] || fail "seal.key.enc of node $i is not 0600"
    [ "$(head -c 8 "$TMP/node$i/seal.key.enc")" = KGSEAL01 ] || fail "seal.key.enc of node $i has no magic"
    [ "$(stat -c %s "$TMP/node$i/seal.key.enc")" -eq 104 ] || fail "seal.key.enc of node $i is not 104 bytes"
done
cmp -s "$TMP/node2/seal.key.enc" "$TMP/node3/seal.key.enc" && fail "two nodes have the same wrapped key"

step "a 2-of-3 key; sign with nodes 1 and 2"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)" --threshold 2 --json
KID=$(jq -r .key_id "$TMP/out"); PUB=$(jq -r .public_key "$TMP/out")
printf 'pay 1 BTC to bob\n' >"$TMP/msg"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

step "node 1 restarted with a passphrase: seal.key converted, the share still signs"
OLD=$(xxd -p -c 64 "$TMP/node1/seal.key")
MPC_NODE_ARGS=$PASS1 mpc_start_node 1
[ ! -e "$TMP/node1/seal.key" ] || fail "the plaintext seal.key of node 1 is still there"
[ -f "$TMP/node1/seal.key.enc" ] || fail "node 1 has no seal.key.enc"
grep -q "now wrapped under the passphrase" "$TMP/node1.err" || fail "no conversion message: $(cat "$TMP/node1.err")"
grep -aq "$OLD" <(xxd -p -c 64 "$TMP/node1/seal.key.enc") && fail "the seal key is in clear in seal.key.enc"
mpc_kill_node 3
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"
MPC_NODE_ARGS=$PASS1 mpc_start_node 1 # and again: the wrapped key opens
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

step "node 2 with a wrong passphrase, or none: refused, nothing changed"
mpc_kill_node 2
BEFORE=$(snapshot 2)
KASHGUARD_NODE_PASSPHRASE='not the passphrase' node_must_refuse 2
grep -q "wrong passphrase for .*seal.key.enc" "$TMP/err" || fail "no clear message: $(cat "$TMP/err")"
grep -q "listening" "$TMP/err" && fail "the node listened with a wrong passphrase"
[ "$(snapshot 2)" = "$BEFORE" ] || fail "a refused start changed node 2's files"
MPC_NODE_ARGS=$PASS3 node_must_refuse 2
grep -q "wrong passphrase" "$TMP/err" || fail "no clear message (file): $(cat "$TMP/err")"
node_must_refuse 2 env -u KASHGUARD_NODE_PASSPHRASE
grep -q "protected by a passphrase" "$TMP/err" || fail "no passphrase: $(cat "$TMP/err")"
[ ! -e "$TMP/node2/seal.key" ] || fail "a start without the passphrase made a new seal.key"
printf '' >"$TMP/empty"
MPC_NODE_ARGS="--passphrase-file $TMP/empty" node_must_refuse 2
grep -q "is empty" "$TMP/err" || fail "empty passphrase file: $(cat "$TMP/err")"
[ "$(snapshot 2)" = "$BEFORE" ] || fail "a refused start changed node 2's files"
"$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" >"$TMP/out" 2>"$TMP/err" &&
    fail "signed with only node 1 up (node 2 must not be running)"

step "node 2 with the right passphrase: 1+2 and 2+3 sign"
KASHGUARD_NODE_PASSPHRASE=$P2 mpc_start_node 2
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"
MPC_NODE_ARGS=$PASS3 mpc_start_node 3
mpc_kill_node 1
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"

echo "PASS"
