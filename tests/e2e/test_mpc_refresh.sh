#!/usr/bin/env bash
# End to end: proactive refresh, repair and reshare of FROST keys across
# five `kashguard mpc-node` processes on 127.0.0.1, driven by the standalone
# coordinator (`kashguard mpc refresh|repair|reshare --ca-dir`). Every
# Ed25519 signature is verified independently with OpenSSL.
#
#   2-of-3 on nodes 1..3: sign; refresh (same public key, epoch 1); sign.
#   A copy of node 2's data from before the refresh (the old share) run in
#   its place: its signature share is rejected and a refresh is refused with
#   the epoch error, the record unchanged.
#   kill -9 node 3, refresh with 1 and 2: node 3 is stale, 1+2 still sign;
#   restart node 3, repair it, kill node 1: 2+3 sign.
#   reshare 2-of-3 -> 3-of-5 on 1..5: same key, 3 sign, 2 live fail cleanly;
#   reshare -> 2-of-3 on 3,4,5: nodes 1 and 2 deleted their shares.
#   A frost-secp256k1 key refreshed. Bad input leaves the record unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"

sign_and_verify() { # sign_and_verify MSG_TEXT [extra args]
    local msg=$1
    shift
    printf '%s' "$msg" >"$TMP/msg"
    run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg" "$@"
    ed25519_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")"
}
record() { cat "$D/keys/$KEY.json"; }
check_doc() { # check_doc EPOCH T N NODES STALE: the --json output in $TMP/out
    [ "$(jq -r .public_key "$TMP/out")" = "$PUB" ] || fail "the public key changed"
    [ "$(jq -r '[.epoch,.threshold,.parties]|join(" ")' "$TMP/out")" = "$1 $2 $3" ] ||
        fail "expected epoch/threshold/parties $1 $2 $3, got $(cat "$TMP/out")"
    [ "$(jq -r '.nodes|join(",")' "$TMP/out")" = "$4" ] || fail "expected nodes $4: $(cat "$TMP/out")"
    [ "$(jq -r '.stale|join(",")' "$TMP/out")" = "$5" ] || fail "expected stale '$5': $(cat "$TMP/out")"
    [ "$(record | jq -r .epoch)" = "$1" ] || fail "the saved record is not at epoch $1"
}

step "ca-init, five node certificates, five nodes"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3 4 5; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3 4 5; do mpc_start_node "$i"; done

step "keygen 2-of-3 frost-ed25519 on nodes 1..3; sign"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)" --threshold 2 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
sign_and_verify "before the refresh"

step "keep node 2's data from epoch 0"
mpc_kill_node 2
cp -a "$TMP/node2" "$TMP/node2-epoch0"
mpc_start_node 2

step "refresh: same public key, epoch 1, nobody stale; sign again"
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY" --nodes "$(mpc_addr 2)" --json
check_doc 1 2 3 "1,2,3" ""
sign_and_verify "after the refresh"

step "node 2 with its epoch-0 share: its signature share is rejected, and a refresh refuses it"
mpc_kill_node 2
MPC_NODE_DATA=$TMP/node2-epoch0 mpc_start_node 2
printf 'old share' >"$TMP/msg"
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg" --nodes "$(mpc_addr 2)"
grep -q "invalid signature shares from node(s) 2" "$TMP/err" || fail "the old share was not named"
BEFORE=$(record)
run 2 "$KG" mpc refresh --ca-dir "$D" --key "$KEY"
grep -q "node 2: key $KEY is at epoch 0 on this node, not 1" "$TMP/err" || fail "no epoch error naming node 2"
[ "$(record)" = "$BEFORE" ] || fail "a failed refresh changed the record"
mpc_kill_node 2
mpc_start_node 2
sign_and_verify "node 2 back at epoch 1" --nodes "$(mpc_addr 2)"

step "kill -9 node 3; refresh with nodes 1 and 2: node 3 is stale; 1+2 sign"
mpc_kill_node 3
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY" --json
check_doc 2 2 3 "1,2,3" "3"
sign_and_verify "node 3 is stale"

step "restart node 3: still stale, so it is not used for signing; repair it"
mpc_start_node 3
mpc_kill_node 1
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg" --nodes "$(mpc_addr 3)"
grep -q "only 1 of the 2 nodes needed" "$TMP/err" || fail "a stale node was used for signing"
mpc_start_node 1
run 0 "$KG" mpc repair --ca-dir "$D" --key "$KEY" --node 3 --nodes "$(mpc_addr 1)" --json
check_doc 2 2 3 "1,2,3" ""

step "kill node 1: the repaired node 3 signs with node 2"
mpc_kill_node 1
sign_and_verify "repaired node 3 signs"
mpc_start_node 1

step "reshare 2-of-3 -> 3-of-5 on nodes 1..5; same key; three sign"
cp "$D/keys/$KEY.json" "$TMP/record-3of5-before.json"
run 0 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 3 --parties 1,2,3,4,5 \
    --nodes "$(mpc_addr 1),$(mpc_addr 4),$(mpc_addr 5)" --json
check_doc 3 3 5 "1,2,3,4,5" ""
sign_and_verify "3-of-5 with all up"
mpc_kill_node 4
mpc_kill_node 5
sign_and_verify "3-of-5 with 1, 2, 3"

step "two live nodes of a 3-of-5 key fail cleanly"
mpc_kill_node 3
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
grep -q "only 2 of the 3 nodes needed" "$TMP/err" || fail "the error does not count the reachable nodes"
for i in 3 4 5; do mpc_start_node "$i"; done

step "reshare 3-of-5 -> 2-of-3 on nodes 3, 4, 5; nodes 1 and 2 deleted their shares"
cp "$D/keys/$KEY.json" "$TMP/record-3of5.json"
run 0 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 2 --parties 5,3,4 \
    --nodes "$(mpc_addr 3),$(mpc_addr 4),$(mpc_addr 5)" --json
check_doc 4 2 3 "3,4,5" ""
sign_and_verify "2-of-3 on 3, 4, 5"
mpc_kill_node 4
sign_and_verify "2-of-3 with 3 and 5"
mpc_start_node 4
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg" --nodes "$(mpc_addr 4)"
# A coordinator that still believes nodes 1 and 2 hold the key (the old
# record cut down to them) gets "no key" from both.
cp -a "$D" "$TMP/mpc-old"
jq '.threshold = 2 | .n = 2 | .nodes = [.nodes[0], .nodes[1]]' "$TMP/record-3of5.json" >"$TMP/mpc-old/keys/$KEY.json"
run 2 "$KG" mpc sign --ca-dir "$TMP/mpc-old" --key "$KEY" --message "@$TMP/msg"
for i in 1 2; do grep -q "node $i: no key $KEY on this node" "$TMP/err" || fail "node $i still holds a share"; done

step "bad input changes nothing"
BEFORE=$(record)
run 1 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 4 --parties 3,4,5
grep -q "threshold 4 is more than the 3" "$TMP/err" || fail "t > n not explained"
run 1 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 2 --parties 3,4,9
grep -q "node 9 is not enrolled" "$TMP/err" || fail "an unknown node is not named"
run 1 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 2 --parties 3,4,4
grep -q "node 4 is listed twice" "$TMP/err" || fail "a duplicated id is not named"
run 1 "$KG" mpc refresh --ca-dir "$D" --key mpc-nosuchkey
grep -q "no MPC key mpc-nosuchkey" "$TMP/err" || fail "a wrong key id is not explained"
run 1 "$KG" mpc repair --ca-dir "$D" --key "$KEY" --node 1
grep -q "node 1 holds no share of key $KEY" "$TMP/err" || fail "repair of a non-holder not explained"
[ "$(record)" = "$BEFORE" ] || fail "bad input changed the record"
sign_and_verify "still signs after the bad input"

step "a frost-secp256k1 key refreshed"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)" --threshold 2 \
    --scheme frost-secp256k1 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "secp before"
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY" --json
check_doc 1 2 3 "1,2,3" ""
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "secp after"

step "without --ca-dir the commands ask the server (--curl shows the request)"
KASHGUARD_ADDR=http://127.0.0.1:1 run 0 "$KG" mpc reshare --key "$KEY" --threshold 2 --parties 1,2 --curl
grep -q "POST" "$TMP/out" && grep -q "/v1/mpc/keys/$KEY/reshare" "$TMP/out" || fail "no REST request: $(cat "$TMP/out")"
grep -q '"parties"' "$TMP/out" || fail "the reshare body lacks the parties"

echo "PASS"
