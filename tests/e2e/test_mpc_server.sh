#!/usr/bin/env bash
# End to end: the dev server as the MPC coordinator. `kashguard server --dev
# --mpc-nodes 3` enrols and starts three `mpc-node` children; a 2-of-3
# FROST(Ed25519) key is made through POST /v1/mpc/keys and signs through
# POST /v1/mpc/keys/{id}/sign, each signature checked with OpenSSL. KMS
# policies decide access (a token without "sign" gets 403, a policy naming
# the MPC key id allows it). The server is restarted on the same data dir:
# the nodes come back (new ports) with their shares and sign with the same
# key. GET /v1/mpc/nodes and `mpc status` probe the nodes; `mpc keygen` and
# `mpc sign` without --ca-dir go through the server; a key file of an older
# server is migrated into the store at start; refresh (also two at once),
# reshare and repair keep the group key. Without --mpc-nodes the routes
# answer 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"

DATA=$TMP/data



sign_msg() { # sign_msg KEY MSG_FILE: prints the signature
    printf '{"message":"%s"}' "$(base64 -w0 <"$2")" >"$TMP/sign.json"
    local st
    st=$(http POST "/v1/mpc/keys/$1/sign" "$TMP/sign.json")
    [ "$st" = 200 ] || fail "sign: HTTP $st: $(head -c 300 "$TMP/body")"
    jq -r .signature "$TMP/body"
}

nodes_running() { pgrep -f -- "--data $DATA/mpc/node" | wc -l; }

step "dev server with three MPC nodes"
mpc_start_dev_server "$DATA" 3
for i in 1 2 3; do
    grep -q "node $i: *127.0.0.1:[0-9]" "$SERVER_OUT" || fail "node $i missing from the banner: $(cat "$SERVER_OUT")"
    [ -s "$DATA/mpc/nodes/$i.pub" ] || fail "node $i is not enrolled"
done
[ "$(nodes_running)" -eq 3 ] || fail "expected 3 node processes"

step "POST /v1/mpc/keys: 2-of-3 frost-ed25519"
printf '{"scheme":"frost-ed25519","threshold":2,"parties":3}' >"$TMP/kg.json"
st=$(http POST /v1/mpc/keys "$TMP/kg.json")
[ "$st" = 200 ] || fail "keygen: HTTP $st: $(head -c 300 "$TMP/body")"
KEY=$(jq -r .key_id "$TMP/body")
PUB=$(jq -r .public_key "$TMP/body")
[ "$(jq -r '.threshold, .parties, .scheme' "$TMP/body" | tr '\n' ' ')" = "2 3 frost-ed25519 " ] || fail "keygen: $(cat "$TMP/body")"
[ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 32 ] || fail "bad group key"

step "GET /v1/mpc/keys/{id}"
st=$(http GET "/v1/mpc/keys/$KEY")
[ "$st" = 200 ] && [ "$(jq -r .public_key "$TMP/body")" = "$PUB" ] || fail "get: HTTP $st: $(cat "$TMP/body")"
grep -qi 'secret\|share' "$TMP/body" && fail "the key document mentions secrets"
assert_http 404 not_found GET /v1/mpc/keys/mpc-nope
assert_http 400 bad_input GET "/v1/mpc/keys/%2E%2E"

step "sign and verify with OpenSSL"
printf 'pay 1 BTC to bob\n' >"$TMP/msg"
ed25519_verify "$PUB" "$TMP/msg" "$(sign_msg "$KEY" "$TMP/msg")"
cp "$TMP/msg" "$TMP/msg2"; printf x >>"$TMP/msg2"
openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$TMP/msg2" -sigfile "$TMP/sig.bin" \
    >/dev/null 2>&1 && fail "OpenSSL accepted a signature over another message"

step "bad requests"
printf '{"threshold":4,"parties":3}' >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys "$TMP/bad.json"
printf '{"threshold":2,"parties":5}' >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys "$TMP/bad.json"
printf '{"threshold":2,"scheme":"rsa"}' >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys "$TMP/bad.json"
printf '{"message":"aGk=","extra":1}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/sign" "$TMP/bad.json"

step "policies: describe only -> sign is 403; a rule naming the key id allows sign"
ROOT=$KASHGUARD_TOKEN
printf '{"name":"mpc-read","rules":[{"keys":["mpc-*"],"actions":["describe"]}]}' >"$TMP/p1.json"
printf '{"name":"mpc-sign","rules":[{"keys":["%s"],"actions":["sign"]}]}' "$KEY" >"$TMP/p2.json"
run 0 "$KG" policy write "$TMP/p1.json"
run 0 "$KG" policy write "$TMP/p2.json"
run 0 "$KG" token create --policy mpc-read --ttl 1h
READER=$(cat "$TMP/out")
run 0 "$KG" token create --policy mpc-sign --ttl 1h
SIGNER=$(cat "$TMP/out")
export KASHGUARD_TOKEN=$READER
[ "$(http GET "/v1/mpc/keys/$KEY")" = 200 ] || fail "reader cannot describe the key"
printf '{"message":"aGk="}' >"$TMP/hi.json"
assert_http 403 permission_denied POST "/v1/mpc/keys/$KEY/sign" "$TMP/hi.json"
assert_http 403 permission_denied POST /v1/mpc/keys "$TMP/kg.json"
export KASHGUARD_TOKEN=$SIGNER
ed25519_verify "$PUB" "$TMP/msg" "$(sign_msg "$KEY" "$TMP/msg")"
assert_http 403 permission_denied GET "/v1/mpc/keys/$KEY"
export KASHGUARD_TOKEN=$ROOT
grep -q '"action":"sign","method":"POST","path":"/v1/mpc/keys/[^"]*/sign"' "$DATA/audit.log" || fail "the signing is not audited"

step "restart on the same data dir: same key, nodes restarted"
stop_server
[ "$(nodes_running)" -eq 0 ] || fail "the nodes outlived the server"
mpc_start_dev_server "$DATA" 3
[ "$(nodes_running)" -eq 3 ] || fail "expected 3 node processes after the restart"
printf 'after the restart' >"$TMP/msg3"
ed25519_verify "$PUB" "$TMP/msg3" "$(sign_msg "$KEY" "$TMP/msg3")"
st=$(http GET "/v1/mpc/keys/$KEY")
[ "$(jq -r .public_key "$TMP/body")" = "$PUB" ] || fail "the key changed over the restart"
stop_server
[ "$(nodes_running)" -eq 0 ] || fail "the nodes outlived the server"

step "the nodes do not outlive a server killed with SIGKILL"
mpc_start_dev_server "$DATA" 3
[ "$(nodes_running)" -eq 3 ] || fail "expected 3 node processes"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
for _ in $(seq 1 50); do [ "$(nodes_running)" -eq 0 ] && break; sleep 0.1; done
[ "$(nodes_running)" -eq 0 ] || fail "node processes outlived a SIGKILLed server"

step "GET /v1/mpc/nodes and mpc status: three dev nodes up, holding the share"
mpc_start_dev_server "$DATA" 3
[ "$(http GET /v1/mpc/nodes)" = 200 ] || fail "nodes: $(cat "$TMP/body")"
[ "$(jq '[.nodes[] | select(.up and .shares >= 1)] | length' "$TMP/body")" = 3 ] || fail "nodes: $(cat "$TMP/body")"
[ "$(jq -r '[.nodes[].id] | join(",")' "$TMP/body")" = "1,2,3" ] || fail "node ids: $(cat "$TMP/body")"
run 0 "$KG" mpc status
grep -q "3 of 3 nodes up" "$TMP/out" || fail "mpc status: $(cat "$TMP/out")"

step "CLI REST mode: mpc keygen and mpc sign without --ca-dir"
run 0 "$KG" mpc keygen --threshold 2 --json
KEY2=$(jq -r .key_id "$TMP/out")
PUB2=$(jq -r .public_key "$TMP/out")
[ "$(jq -r .parties "$TMP/out")" = 3 ] || fail "default parties: $(cat "$TMP/out")"
run 0 "$KG" mpc sign --key "$KEY2" --message @"$TMP/msg"
ed25519_verify "$PUB2" "$TMP/msg" "$(cat "$TMP/out")"
expect_err not_found "$KG" mpc sign --key mpc-nope --message hi

step "maintenance routes: input checks and policy (action rotate)"
printf '{"extra":1}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY2/refresh" "$TMP/bad.json"
printf '{"threshold":1,"parties":[1,2,3]}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY2/reshare" "$TMP/bad.json"
printf '{"threshold":2,"parties":[1,1,2]}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY2/reshare" "$TMP/bad.json"
printf '{}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY2/repair" "$TMP/bad.json"
printf '{}' >"$TMP/empty.json"
assert_http 404 not_found POST /v1/mpc/keys/mpc-nope/refresh "$TMP/empty.json"
export KASHGUARD_TOKEN=$SIGNER
assert_http 403 permission_denied POST "/v1/mpc/keys/$KEY/refresh" "$TMP/empty.json"
export KASHGUARD_TOKEN=$ROOT

step "legacy key files are migrated into the store at start"
ADDRS=$(sed -n 's/^ *node \([0-9]\): *\(127[0-9.:]*\).*/\1@\2/p' "$SERVER_OUT" | paste -sd, -)
run 0 "$KG" mpc keygen --ca-dir "$DATA/mpc" --threshold 2 --nodes "$ADDRS" --json
LEGACY=$(jq -r .key_id "$TMP/out")
LPUB=$(jq -r .public_key "$TMP/out")
[ -s "$DATA/mpc/keys/$LEGACY.json" ] || fail "the standalone keygen wrote no key file"
[ "$(http GET "/v1/mpc/keys/$LEGACY")" = 404 ] || fail "the file key is visible before the migration"
stop_server
mpc_start_dev_server "$DATA" 3
[ -e "$DATA/mpc/keys/$LEGACY.json" ] && fail "the key file was not renamed"
[ -s "$DATA/mpc/keys/$LEGACY.json.migrated" ] || fail "no .migrated file"
[ "$(http GET "/v1/mpc/keys/$LEGACY")" = 200 ] && [ "$(jq -r .public_key "$TMP/body")" = "$LPUB" ] ||
    fail "migrated key: $(cat "$TMP/body")"
ed25519_verify "$LPUB" "$TMP/msg" "$(sign_msg "$LEGACY" "$TMP/msg")"

step "refresh, concurrent refreshes, repair and reshare (epoch moves, same key)"
http POST "/v1/mpc/keys/$KEY2/refresh" "$TMP/empty.json" >/dev/null
if grep -q "not available yet" "$TMP/body"; then
    stop_server
    echo "SKIP: refresh over the network is not available yet (src/mpc/coord_refresh.c placeholder)" >&2
    exit 77
fi
[ "$(jq -r .epoch "$TMP/body")" = 1 ] && [ "$(jq -r .public_key "$TMP/body")" = "$PUB2" ] ||
    fail "refresh: $(cat "$TMP/body")"
[ "$(jq -c .stale "$TMP/body")" = "[]" ] || fail "refresh with all nodes up left stale holders: $(cat "$TMP/body")"
ed25519_verify "$PUB2" "$TMP/msg" "$(sign_msg "$KEY2" "$TMP/msg")"
PIDS=()
for j in a b; do
    curl -s -o "$TMP/r-$j" -w '%{http_code}' -X POST -H "Authorization: Bearer $KASHGUARD_TOKEN" \
        --data-binary @"$TMP/empty.json" "$KASHGUARD_ADDR/v1/mpc/keys/$KEY2/refresh" >"$TMP/st-$j" &
    PIDS+=($!)
done
wait "${PIDS[@]}"
E_A=$(jq -r .epoch "$TMP/r-a"); E_B=$(jq -r .epoch "$TMP/r-b")
[ "$(cat "$TMP/st-a") $(cat "$TMP/st-b")" = "200 200" ] || fail "concurrent refreshes: $(cat "$TMP/r-a" "$TMP/r-b")"
[ "$(printf '%s\n%s\n' "$E_A" "$E_B" | sort | paste -sd' ')" = "2 3" ] || fail "concurrent refreshes both won epoch $E_A/$E_B"
[ "$(http GET "/v1/mpc/keys/$KEY2")" = 200 ] && [ "$(jq -r .epoch "$TMP/body")" = 3 ] || fail "stored epoch: $(cat "$TMP/body")"
printf '{"node":2}' >"$TMP/rp.json"
[ "$(http POST "/v1/mpc/keys/$KEY2/repair" "$TMP/rp.json")" = 200 ] || fail "repair: $(cat "$TMP/body")"
ed25519_verify "$PUB2" "$TMP/msg" "$(sign_msg "$KEY2" "$TMP/msg")"
printf '{"threshold":3,"parties":[1,2,3]}' >"$TMP/rs.json"
[ "$(http POST "/v1/mpc/keys/$KEY2/reshare" "$TMP/rs.json")" = 200 ] || fail "reshare: $(cat "$TMP/body")"
[ "$(jq -r '.threshold, .public_key' "$TMP/body" | paste -sd' ')" = "3 $PUB2" ] || fail "reshare: $(cat "$TMP/body")"
ed25519_verify "$PUB2" "$TMP/msg" "$(sign_msg "$KEY2" "$TMP/msg")"
grep -q '"action":"rotate","method":"POST","path":"/v1/mpc/keys/[^"]*/refresh"' "$DATA/audit.log" || fail "refresh not audited"
stop_server

step "without --mpc-nodes: 503"
mpc_start_dev_server "$TMP/plain" 0
printf '{"threshold":2}' >"$TMP/kg0.json"
[ "$(http POST /v1/mpc/keys "$TMP/kg0.json")" = 503 ] || fail "expected 503: $(cat "$TMP/body")"
grep -q -- "--mpc-nodes" "$TMP/body" || fail "the 503 does not say how to start nodes"
run 1 "$KG" server --data "$TMP/plain2" --listen 127.0.0.1:0 --mpc-nodes 3
grep -q "dev mode only" "$TMP/err" || fail "--mpc-nodes without --dev: $(cat "$TMP/err")"

echo "PASS"
