#!/usr/bin/env bash
# The production path, end to end with real processes and real TLS:
#  1. a CA, a server certificate and a client certificate made with openssl;
#  2. `kashguard server --config FILE` refuses to start without TLS, then
#     starts with tls_cert/tls_key/tls_client_ca;
#  3. a client without a certificate is refused; with one it works;
#  4. `kashguard operator init --shares 5 --threshold 3`, three different
#     shares through `operator unseal` on stdin, a key, an encryption;
#  5. `operator seal` -> key operations 503 sealed; a wrong share is
#     refused; unsealing again with another 3 of the 5 shares works;
#  6. restart on the same data dir: sealed until unsealed, then the old
#     ciphertext decrypts; the audit log verifies offline, pinned to the
#     audit key that init printed.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }
cd "$TMP" || exit 1

step "certificates"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
    -keyout ca.key -out ca.pem 2>/dev/null || fail "CA"
mkcert() { # mkcert NAME CN [extfile-line]
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
        -keyout "$1.key" -out "$1.csr" 2>/dev/null || fail "csr $1"
    printf '%s\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "cert $1"
}
mkcert server 127.0.0.1 "subjectAltName=IP:127.0.0.1"
mkcert client app "extendedKeyUsage=clientAuth"

for try in 1 2 3 4 5; do PORT=$((20000 + RANDOM % 40000)); port_busy "$PORT" || break; done
export KASHGUARD_ADDR="https://127.0.0.1:$PORT"
unset KASHGUARD_TOKEN

step "no TLS configured outside dev: refuses to start"
printf 'listen = 127.0.0.1:%s\ndata_dir = %s\n' "$PORT" "$TMP/data" > plain.conf
run 1 timeout 20 "$KG" server --config plain.conf
grep -qi "tls" "$TMP/err" || fail "the refusal does not mention TLS"

cat > server.conf <<CONF
# production-like configuration
listen = 127.0.0.1:$PORT
data_dir = $TMP/data
tls_cert = $TMP/server.pem
tls_key = $TMP/server.key
tls_client_ca = $TMP/ca.pem
min_deletion_wait = 1d
CONF
# start_tls: the server of server.conf; when its port was taken meanwhile
# (another test bound it between the check and the server's bind), on a
# new one.
start_tls() {
    local try
    for try in 1 2 3 4 5; do
        "$KG" server --config server.conf >"$TMP/server.out" 2>"$TMP/server.err" &
        SERVER_PID=$!
        for _ in $(seq 1 300); do
            curl -s --cacert ca.pem --cert client.pem --key client.key "$KASHGUARD_ADDR/v1/sys/seal-status" >/dev/null && return 0
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$SERVER_PID" 2>/dev/null && break
        wait "$SERVER_PID" 2>/dev/null
        grep -q "cannot listen" "$TMP/server.err" || break
        PORT=$((20000 + RANDOM % 40000))
        sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT/" server.conf
        export KASHGUARD_ADDR="https://127.0.0.1:$PORT"
    done
    cat "$TMP/server.err" >&2
    fail "the TLS server did not come up"
}
step "TLS server with client certificates"
start_tls
export KASHGUARD_CACERT=$TMP/ca.pem
run 2 "$KG" operator status
export KASHGUARD_CLIENT_CERT=$TMP/client.pem KASHGUARD_CLIENT_KEY=$TMP/client.key
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem "$KASHGUARD_ADDR/v1/sys/seal-status")
[ "$code" = 401 ] || [ "$code" = 000 ] || fail "a client without a certificate got HTTP $code"

step "operator init 3-of-5"
run 0 "$KG" operator init --shares 5 --threshold 3 --json
cp "$TMP/out" init.json
[ "$(jq '.unseal_keys | length' init.json)" = 5 ] || fail "expected 5 unseal keys"
ROOT=$(jq -r .root_token init.json)
AUDIT_PUB=$(jq -r .audit_public_key init.json)
for i in 0 1 2 3 4; do jq -r ".unseal_keys[$i]" init.json > share$i; done
grep -rq "$ROOT" "$TMP/data" && fail "the root token is stored in clear"
for i in 0 1 2 3 4; do grep -rqF "$(cat share$i)" "$TMP/data" && fail "unseal share $i is stored in clear"; done
run 0 "$KG" operator status --json
[ "$(jq -r .sealed "$TMP/out")" = true ] || fail "not sealed after init"

step "unseal with shares 0, 2, 4 (stdin)"
for i in 0 2 4; do run 0 "$KG" operator unseal < share$i; done
run 0 "$KG" operator status --json
[ "$(jq -r .sealed "$TMP/out")" = false ] || fail "still sealed after 3 shares"
export KASHGUARD_TOKEN=$ROOT
run 0 "$KG" key create --spec AES_256 --alias prod
printf 'production secret' > pt.txt
run 0 "$KG" encrypt --key prod --plaintext @pt.txt --context env=prod
cp "$TMP/out" ct.b64

step "seal: key operations answer 503 sealed"
run 0 "$KG" operator seal
expect_err sealed "$KG" encrypt --key prod --plaintext @pt.txt
expect_err sealed "$KG" decrypt --ciphertext @ct.b64 --context env=prod

step "a wrong share is refused and progress resets; shares 1, 3, 4 unseal"
run 0 "$KG" operator unseal < share1
head -c 33 /dev/urandom | base64 > bad.share
run 0 "$KG" operator unseal < share3
run 2 "$KG" operator unseal < bad.share
run 0 "$KG" operator status --json
[ "$(jq -r .sealed "$TMP/out")" = true ] || fail "unsealed with a bad share"
for i in 1 3 4; do run 0 "$KG" operator unseal < share$i; done
run 0 "$KG" decrypt --ciphertext @ct.b64 --context env=prod
cmp -s "$TMP/out" pt.txt || fail "decrypt after unseal"

step "restart: sealed until unsealed, data intact"
stop_server
start_tls
expect_err sealed "$KG" key get prod
for i in 4 0 1; do run 0 "$KG" operator unseal < share$i; done
run 0 "$KG" decrypt --ciphertext @ct.b64 --context env=prod
cmp -s "$TMP/out" pt.txt || fail "decrypt after restart"
stop_server

step "audit verify offline, pinned to the audit key from init"
run 0 "$KG" audit verify "$TMP/data" --public-key "$AUDIT_PUB"
grep -q "audit log OK" "$TMP/out" || fail "audit verify: $(cat "$TMP/out")"
run 2 "$KG" audit verify "$TMP/data" --public-key "$(head -c 32 /dev/urandom | base64)"
echo "PASS: TLS + client certificates, 3-of-5 init/unseal/seal/restart, pinned audit verify"
