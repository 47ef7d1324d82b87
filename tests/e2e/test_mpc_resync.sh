#!/usr/bin/env bash
# End to end: RESYNC of a key record from the nodes (kashguard mpc resync,
# kg_mpc_coordinator_resync, KEY_INFO) after the coordinator "crashed"
# between the nodes' commit and the record's save -- simulated by putting
# the record from before a refresh/reshare back. Three `kashguard mpc-node`
# processes, the standalone coordinator; signatures checked with OpenSSL.
#
#   2-of-3 Ed25519: refresh, old record back: sign fails; resync -> epoch 1,
#   sign verifies. Resync again is a no-op.
#   Two of three nodes down: resync fails naming each node, record unchanged.
#   Refresh, old record back, node 3 down: resync -> epoch 2 with node 3
#   stale (its public share derived); node 3 back, repair it, it signs.
#   Reshare 2-of-3 -> 3-of-3, old record back: resync -> t = 3; signs.
#   A record with another public key: resync refuses, record unchanged.
#   A dev server answers POST /v1/mpc/keys/{id}/resync.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"

sign_and_verify() { # sign_and_verify MSG_TEXT [extra args]
    printf '%s' "$1" >"$TMP/msg"
    shift
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
    [ "$(record | jq -r .threshold)" = "$2" ] || fail "the saved record's threshold is not $2"
}

step "ca-init, three nodes, keygen 2-of-3 frost-ed25519; sign"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do mpc_start_node "$i"; done
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)" --threshold 2 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
sign_and_verify "epoch 0"

step "refresh, then the epoch-0 record back (the crash window): signing fails"
cp "$D/keys/$KEY.json" "$TMP/rec0.json"
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY" --json
check_doc 1 2 3 "1,2,3" ""
cp "$TMP/rec0.json" "$D/keys/$KEY.json"
printf 'stale record' >"$TMP/msg"
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
run 2 "$KG" mpc refresh --ca-dir "$D" --key "$KEY"
grep -q "is at epoch 1 on this node, not 0" "$TMP/err" || fail "no epoch error: $(cat "$TMP/err")"

step "resync: epoch 1, same key; sign verifies; a second resync changes nothing"
run 0 "$KG" mpc resync --ca-dir "$D" --key "$KEY" --json
check_doc 1 2 3 "1,2,3" ""
sign_and_verify "after the resync"
BEFORE=$(record)
run 0 "$KG" mpc resync --ca-dir "$D" --key "$KEY" --json
check_doc 1 2 3 "1,2,3" ""
[ "$(record | jq -S 'del(.nodes)')" = "$(echo "$BEFORE" | jq -S 'del(.nodes)')" ] || fail "a second resync changed the record"
[ "$(record | jq -c '[.nodes[].public_share]')" = "$(echo "$BEFORE" | jq -c '[.nodes[].public_share]')" ] ||
    fail "a second resync changed the public shares"

step "two of three nodes down: resync refuses, names every node, record unchanged"
mpc_kill_node 2
mpc_kill_node 3
BEFORE=$(record)
run 2 "$KG" mpc resync --ca-dir "$D" --key "$KEY"
grep -q "no epoch is reported by 2 nodes" "$TMP/err" || fail "no threshold error: $(cat "$TMP/err")"
grep -q "node 1: epoch 1;" "$TMP/err" || fail "node 1's answer not named: $(cat "$TMP/err")"
grep -q "node 2: unreachable" "$TMP/err" && grep -q "node 3: unreachable" "$TMP/err" ||
    fail "the down nodes are not named: $(cat "$TMP/err")"
[ "$(record)" = "$BEFORE" ] || fail "a failed resync changed the record"
mpc_start_node 2

step "refresh with node 3 down, old record back: resync -> epoch 2, node 3 stale; repair it; it signs"
cp "$D/keys/$KEY.json" "$TMP/rec1.json"
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY" --json
check_doc 2 2 3 "1,2,3" "3"
cp "$TMP/rec1.json" "$D/keys/$KEY.json"
run 0 "$KG" mpc resync --ca-dir "$D" --key "$KEY" --json
check_doc 2 2 3 "1,2,3" "3"
sign_and_verify "1 and 2 after the resync"
mpc_start_node 3
run 0 "$KG" mpc repair --ca-dir "$D" --key "$KEY" --node 3 --json
check_doc 2 2 3 "1,2,3" ""
mpc_kill_node 1
sign_and_verify "repaired node 3 with node 2"
mpc_start_node 1

step "reshare 2-of-3 -> 3-of-3, old record back: resync finds t = 3"
cp "$D/keys/$KEY.json" "$TMP/rec2.json"
run 0 "$KG" mpc reshare --ca-dir "$D" --key "$KEY" --threshold 3 --parties 1,2,3 --json
check_doc 3 3 3 "1,2,3" ""
cp "$TMP/rec2.json" "$D/keys/$KEY.json"
run 2 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
run 0 "$KG" mpc resync --ca-dir "$D" --key "$KEY" --json
check_doc 3 3 3 "1,2,3" ""
sign_and_verify "3-of-3 after the resync"

step "a record whose public key the shares do not give: resync refuses, record unchanged"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)" --threshold 2 --json
OTHER=$(jq -r .public_key "$TMP/out")
jq --arg p "$OTHER" '.public_key = $p' "$TMP/rec2.json" >"$D/keys/$KEY.json"
BEFORE=$(record)
run 2 "$KG" mpc resync --ca-dir "$D" --key "$KEY"
grep -q "do not combine to the key's public key" "$TMP/err" || fail "a foreign public key was not refused: $(cat "$TMP/err")"
[ "$(record)" = "$BEFORE" ] || fail "a refused resync changed the record"

step "a wrong key id is explained"
run 1 "$KG" mpc resync --ca-dir "$D" --key mpc-nosuchkey
grep -q "no MPC key mpc-nosuchkey" "$TMP/err" || fail "a wrong key id is not explained"

step "the server route: a dev server resyncs a key it holds (a no-op when in sync)"
for i in 1 2 3; do mpc_kill_node "$i"; done
mpc_start_dev_server "$TMP/srv" 3
run 0 "$KG" mpc keygen --threshold 2 --json
SKEY=$(jq -r .key_id "$TMP/out")
SPUB=$(jq -r .public_key "$TMP/out")
run 0 "$KG" mpc refresh --key "$SKEY" --json
run 0 "$KG" mpc resync --key "$SKEY" --json
[ "$(jq -r '[.epoch,.threshold,.public_key]|join(" ")' "$TMP/out")" = "1 2 $SPUB" ] ||
    fail "server resync: $(cat "$TMP/out")"
printf '{"node":1}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$SKEY/resync" "$TMP/bad.json"
printf 'via the server' >"$TMP/msg"
run 0 "$KG" mpc sign --key "$SKEY" --message "@$TMP/msg"
ed25519_verify "$SPUB" "$TMP/msg" "$(cat "$TMP/out")"

echo "PASS"
