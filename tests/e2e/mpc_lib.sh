# Shared by the MPC end-to-end tests (source it after lib.sh): `kashguard
# mpc-node` processes on free loopback ports, killed when the test exits,
# and Ed25519 signature checks with OpenSSL.
#
#   D                    the standalone coordinator directory ($TMP/mpc)
#   mpc_start_node ID    start node ID ($TMP/node$ID: node.pem, node.key, data)
#                        and wait until it listens. Knobs, as variables in
#                        front of the call: MPC_NODE_BIN (another binary),
#                        MPC_NODE_DATA (another data dir), MPC_NODE_CA (another
#                        CA file), MPC_NODE_ARGS (more arguments, split on
#                        blanks, e.g. "--passphrase-file $TMP/pass");
#                        anything else in the environment (e.g.
#                        KG_MPC_EVIL) reaches the node. A restarted node gets
#                        its old port back when it is free, so addresses in
#                        the coordinator's address book stay right. If the
#                        test defines mpc_before_start ID PORT, it runs first.
#   mpc_node_argv ID PORT  the node's command line (same knobs) in the array
#                        MPC_ARGV, for a test that runs a node itself (e.g.
#                        one that must refuse to start)
#   mpc_kill_node ID     SIGKILL node ID and reap it
#   mpc_start_dev_server DATA N  `kashguard server --dev --mpc-nodes N` on a
#                        free port (up to 60 s); sets what start_server sets
#                        (lib.sh) and SERVER_OUT, SERVER_ERR (its log files)
#   mpc_addr ID          "ID@127.0.0.1:PORT"
#   ed25519_pub_pem B64  the 32-byte key as $TMP/pub.pem
#   ed25519_verify PUB_B64 MSG_FILE SIG_B64   fail unless OpenSSL accepts it
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }
command -v xxd >/dev/null || { echo "skip: xxd is not installed" >&2; exit 77; }

declare -A NODE_PID NODE_PORT
D=$TMP/mpc

mpc_cleanup() {
    local i
    for i in "${!NODE_PID[@]}"; do kill -KILL "${NODE_PID[$i]}" 2>/dev/null; wait "${NODE_PID[$i]}" 2>/dev/null; done
    cleanup
}
trap mpc_cleanup EXIT

mpc_kill_node() {
    [ -n "${NODE_PID[$1]:-}" ] || return 0
    kill -KILL "${NODE_PID[$1]}" 2>/dev/null
    wait "${NODE_PID[$1]}" 2>/dev/null
    unset "NODE_PID[$1]"
}

mpc_addr() { echo "$1@127.0.0.1:${NODE_PORT[$1]}"; }

# Wait (10 s at most) until node $1 on port $2 says it listens.
mpc_wait_listening() {
    local id=$1 port=$2 i
    for i in $(seq 1 100); do
        kill -0 "${NODE_PID[$id]}" 2>/dev/null || return 1
        grep -q "listening" "$TMP/node$id.err" 2>/dev/null && port_busy "$port" && return 0
        sleep 0.1
    done
    return 1
}

mpc_node_argv() {
    local id=$1 extra=()
    read -ra extra <<<"${MPC_NODE_ARGS:-}"
    MPC_ARGV=("${MPC_NODE_BIN:-$KG}" mpc-node --data "${MPC_NODE_DATA:-$TMP/node$id}" --listen "127.0.0.1:$2"
        --ca "${MPC_NODE_CA:-$D/ca.pem}" --cert "$TMP/node$id/node.pem" --key "$TMP/node$id/node.key"
        --id "$id" "${extra[@]}")
}

mpc_start_node() {
    local id=$1 try port
    mpc_kill_node "$id"
    for try in 1 2 3 4 5 6 7 8; do
        port=${NODE_PORT[$id]:-$((20000 + RANDOM % 40000))}
        if port_busy "$port"; then # an old port still held: wait a little, then take another
            [ "$try" -ge 4 ] && unset "NODE_PORT[$id]"
            sleep 0.2
            continue
        fi
        if declare -F mpc_before_start >/dev/null; then mpc_before_start "$id" "$port"; fi
        : >"$TMP/node$id.err"
        mpc_node_argv "$id" "$port"
        "${MPC_ARGV[@]}" >>"$TMP/node$id.out" 2>>"$TMP/node$id.err" &
        NODE_PID[$id]=$!
        if mpc_wait_listening "$id" "$port"; then
            NODE_PORT[$id]=$port
            return 0
        fi
        mpc_kill_node "$id"
    done
    cat "$TMP/node$id.err" >&2
    fail "node $id did not come up"
}

mpc_start_dev_server() { start_server "$1" --mpc-nodes "$2"; }

ed25519_pub_pem() {
    { printf '302a300506032b6570032100' | xxd -r -p; printf '%s' "$1" | base64 -d; } >"$TMP/pub.der"
    openssl pkey -pubin -inform DER -in "$TMP/pub.der" -out "$TMP/pub.pem" 2>"$TMP/err" || fail "bad public key"
}

ed25519_verify() {
    ed25519_pub_pem "$1"
    printf '%s' "$3" | base64 -d >"$TMP/sig.bin"
    [ "$(stat -c %s "$TMP/sig.bin")" -eq 64 ] || fail "signature is not 64 bytes"
    openssl pkeyutl -verify -pubin -inkey "$TMP/pub.pem" -rawin -in "$2" -sigfile "$TMP/sig.bin" \
        >"$TMP/vout" 2>"$TMP/verr" || fail "OpenSSL rejects the signature"
}
