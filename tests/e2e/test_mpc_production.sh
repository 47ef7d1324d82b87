#!/usr/bin/env bash
# End to end: a production (non-dev) server as the MPC coordinator.
#  1. `kashguard server --config` with `mpc = true` (no --dev): the server
#     makes its MPC CA at first start; it is initialised and unsealed with
#     `operator init/unseal` like any production server;
#  2. three nodes enrol the production way: `mpc node-init` makes each
#     node's TLS key, CSR and envelope keys locally, `mpc node add` (admin
#     token) sends the CSR and envelope.pub and gets node.pem + ca.pem back;
#     a non-admin token is refused; the test starts the `mpc-node`s;
#  3. `mpc status` shows 3 up; `mpc keygen --threshold 2 --parties 3` and
#     `mpc sign` (CLI REST mode); the signature is checked with OpenSSL;
#  4. one node is killed: status shows it down with a reason, signing goes
#     on with the other two;
#  5. the server restarts (sealed, unsealed again): the key and the three
#     registered nodes are still there, the restarted node is up again and
#     signing works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
cd "$TMP" || exit 1

# start_prod: the production server on a free port (a new one on each
# try: another test may take the port between the check and the bind).
start_prod() {
    local try
    for try in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 40000))
        port_busy "$PORT" && continue
        export KASHGUARD_ADDR="http://127.0.0.1:$PORT"
        printf 'listen = 127.0.0.1:%s\ndata_dir = %s\ntls_disable = true\nmpc = true\n' "$PORT" "$TMP/data" >server.conf
        "$KG" server --config server.conf >>"$TMP/server.out" 2>>"$TMP/server.err" &
        SERVER_PID=$!
        for _ in $(seq 1 300); do
            curl -s "$KASHGUARD_ADDR/v1/sys/seal-status" >/dev/null && return 0
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$SERVER_PID" 2>/dev/null && break # up but not answering: a real failure
        wait "$SERVER_PID" 2>/dev/null
        tail -n 1 "$TMP/server.err" | grep -q "cannot listen" || break
    done
    cat "$TMP/server.err" >&2
    fail "the production server did not come up"
}
unset KASHGUARD_TOKEN
unseal() { for i in "$@"; do run 0 "$KG" operator unseal < "share$i"; done; }

# register_and_start ID: the node with the CA its registration returned;
# before it listens on a port the server has not got for it, `mpc node add`
# registers it there (certificate from its CSR).
declare -A REG_PORT
mpc_before_start() {
    [ "${REG_PORT[$1]:-}" = "$2" ] && return 0
    run 0 "$KG" mpc node add --id "$1" --node-addr "127.0.0.1:$2" --dir "$TMP/node$1"
    REG_PORT[$1]=$2
}
register_and_start() { MPC_NODE_CA=$TMP/node$1/ca.pem mpc_start_node "$1"; }
status_field() { # status_field ID FIELD (from the last `mpc status --json` in $TMP/out)
    jq -r --argjson id "$1" ".nodes[] | select(.id == \$id) | .$2" "$TMP/out"
}

step "production server with mpc = true: CA made at first start; init + unseal"
start_prod
[ -s "$TMP/data/mpc/ca.pem" ] && [ -s "$TMP/data/mpc/coordinator.pem" ] || fail "no MPC CA under data/mpc"
run 0 "$KG" operator init --shares 3 --threshold 2 --json
ROOT=$(jq -r .root_token "$TMP/out")
for i in 0 1 2; do jq -r ".unseal_keys[$i]" "$TMP/out" > "share$i"; done
unseal 0 1
export KASHGUARD_TOKEN=$ROOT
run 0 "$KG" mpc status --json
[ "$(jq '.nodes | length' "$TMP/out")" = 0 ] || fail "a new server has nodes: $(cat "$TMP/out")"

step "node-init: key, CSR and envelope keys stay on the node"
for i in 1 2 3; do
    run 0 "$KG" mpc node-init --out "$TMP/node$i" --id "$i"
    for f in node.key node.csr envelope.key envelope.pub; do [ -s "$TMP/node$i/$f" ] || fail "node $i: no $f"; done
    [ "$(stat -c %a "$TMP/node$i/envelope.key")" = 600 ] || fail "envelope.key is not 0600"
    [ "$(stat -c %a "$TMP/node$i/node.key")" = 600 ] || fail "node.key is not 0600"
    [ "$(stat -c %s "$TMP/node$i/envelope.pub")" = 64 ] || fail "envelope.pub is not 64 bytes"
done
run 1 "$KG" mpc node-init --out "$TMP/node1" --id 1
grep -q "already holds" "$TMP/err" || fail "node-init overwrote an identity: $(cat "$TMP/err")"

step "node add needs an admin token"
printf '{"name":"mpc-user","rules":[{"actions":["create-key","list-keys","sign","describe"]}]}' >p.json
run 0 "$KG" policy write p.json
run 0 "$KG" token create --policy mpc-user --ttl 1h
USER_TOKEN=$(cat "$TMP/out")
KASHGUARD_TOKEN=$USER_TOKEN expect_err permission_denied "$KG" mpc node add --id 1 --node-addr 127.0.0.1:1 --dir "$TMP/node1"
[ -e "$TMP/node1/node.pem" ] && fail "a refused registration wrote node.pem"
printf '{"id":1,"addr":"nohost","csr":"x","envelope_public":"AA=="}' >bad.json
assert_http 400 bad_input POST /v1/mpc/nodes bad.json

step "register three nodes (certificate from the CSR) and start them"
for i in 1 2 3; do register_and_start "$i"; done
for i in 1 2 3; do
    openssl verify -CAfile "$TMP/node$i/ca.pem" "$TMP/node$i/node.pem" >/dev/null 2>&1 || fail "node $i: bad certificate"
    cmp -s "$TMP/node$i/envelope.pub" "$TMP/data/mpc/nodes/$i.pub" || fail "node $i: envelope keys not recorded"
    # the issued certificate carries the node's own key (from its CSR)
    [ "$(openssl x509 -in "$TMP/node$i/node.pem" -noout -pubkey | openssl md5)" = \
      "$(openssl pkey -in "$TMP/node$i/node.key" -pubout | openssl md5)" ] || fail "node $i: certificate key differs"
done
grep -q "kashguard:node:2" <(openssl x509 -in "$TMP/node2/node.pem" -noout -text) || fail "node 2: no party SAN"
head -c 64 /dev/urandom >other.pub
printf '{"id":2,"addr":"127.0.0.1:9","csr":%s,"envelope_public":"%s"}' \
    "$(jq -Rs . <"$TMP/node2/node.csr")" "$(base64 -w0 <other.pub)" >steal.json
assert_http 409 conflict POST /v1/mpc/nodes steal.json

step "mpc status: 3 up"
run 0 "$KG" mpc status --json
[ "$(jq '[.nodes[] | select(.up)] | length' "$TMP/out")" = 3 ] || fail "status: $(cat "$TMP/out")"
[ "$(status_field 2 addr)" = "127.0.0.1:${NODE_PORT[2]}" ] || fail "node 2 address: $(cat "$TMP/out")"
run 0 "$KG" mpc status
grep -q "3 of 3 nodes up" "$TMP/out" || fail "status text: $(cat "$TMP/out")"

step "keygen 2-of-3 and sign through the server (CLI REST mode), verified with OpenSSL"
run 0 "$KG" mpc keygen --threshold 2 --parties 3 --json
KEY=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
[ "$(jq -r '.threshold, .parties' "$TMP/out" | tr '\n' ' ')" = "2 3 " ] || fail "keygen: $(cat "$TMP/out")"
printf 'production MPC payment\n' >msg
run 0 "$KG" mpc sign --key "$KEY" --message @msg
ed25519_verify "$PUB" msg "$(cat "$TMP/out")"
run 0 "$KG" mpc status --json
[ "$(status_field 1 shares)" = 1 ] || fail "node 1 does not report its share: $(cat "$TMP/out")"
expect_err bad_input "$KG" mpc keygen --threshold 2 --parties 4

step "kill node 3: status shows it down with a reason; 2 of 3 still sign"
mpc_kill_node 3
run 0 "$KG" mpc status --json
[ "$(status_field 3 up)" = false ] || fail "node 3 is not down: $(cat "$TMP/out")"
[ -n "$(status_field 3 error | grep -v '^null$')" ] || fail "node 3 down without a reason: $(cat "$TMP/out")"
[ "$(status_field 1 up)" = true ] || fail "node 1 is not up"
run 0 "$KG" mpc status
grep -q "2 of 3 nodes up" "$TMP/out" || fail "status text: $(cat "$TMP/out")"
printf 'with a node down' >msg2
run 0 "$KG" mpc sign --key "$KEY" --message @msg2
ed25519_verify "$PUB" msg2 "$(cat "$TMP/out")"

step "restart the server: keys and registered nodes survive"
stop_server
start_prod
unseal 2 0
run 0 "$KG" mpc status --json
[ "$(jq '.nodes | length' "$TMP/out")" = 3 ] || fail "registered nodes lost over the restart: $(cat "$TMP/out")"
[ "$(status_field 3 up)" = false ] && [ "$(status_field 2 up)" = true ] || fail "status after restart: $(cat "$TMP/out")"
register_and_start 3
run 0 "$KG" mpc status --json
[ "$(jq '[.nodes[] | select(.up)] | length' "$TMP/out")" = 3 ] || fail "node 3 not back: $(cat "$TMP/out")"
[ "$(http GET "/v1/mpc/keys/$KEY")" = 200 ] && [ "$(jq -r .public_key "$TMP/body")" = "$PUB" ] || fail "key lost: $(cat "$TMP/body")"
printf 'after the restart' >msg3
run 0 "$KG" mpc sign --key "$KEY" --message @msg3 --json
ed25519_verify "$PUB" msg3 "$(jq -r .signature "$TMP/out")"
grep -q '"action":"manage-policies","method":"POST","path":"/v1/mpc/nodes"' "$TMP/data/audit.log" || fail "registration not audited"
echo "PASS: production MPC coordinator: node-init/node add, keygen/sign over REST, status, restart"
