#!/usr/bin/env bash
# End to end: import an existing private key into a t-of-n FROST group by a
# trusted-dealer split (`kashguard mpc import`, RFC 9591 Appendix C).
#  1. standalone: an `openssl genpkey -algorithm ed25519` key -> 2-of-3 on
#     three node processes; the group key EQUALS OpenSSL's public key and a
#     `mpc sign` signature verifies with `openssl pkeyutl -verify` against the
#     ORIGINAL public key file; the same with nodes 1 and 3 (another subset)
#     and after a refresh;
#  2. standalone: an `openssl ecparam -name secp256k1 -genkey` key as
#     frost-secp256k1 (compressed keys equal) and frost-secp256k1-tr (x-only
#     key equal); both sign (the coordinator verifies the aggregate);
#  3. bad input: threshold > parties, an unknown node, a wrong-curve key;
#  4. the dev server (`server --dev --mpc-nodes 3`, REST mode): import, the
#     key document's public key equals OpenSSL's, signatures verify; a
#     tampered sealed share is refused by its node (it names the dealer) and
#     no node keeps a share of it; an unknown node id is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
command -v jq >/dev/null || { echo "skip: jq is not installed" >&2; exit 77; }

# OpenSSL's raw Ed25519 public key (32 bytes, base64) of a private key file.
ed_pub_b64() { openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | base64 -w0; }
# OpenSSL's compressed EC public key (33 bytes, base64).
ec_pub_b64() { openssl ec -in "$1" -pubout -outform DER -conv_form compressed 2>/dev/null | tail -c 33 | base64 -w0; }

step "ca-init, three nodes"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do mpc_start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"

step "import an OpenSSL Ed25519 key 2-of-3: the group key is the original public key"
openssl genpkey -algorithm ed25519 -out "$TMP/ed.pem" 2>/dev/null || fail "openssl genpkey failed"
openssl pkey -in "$TMP/ed.pem" -pubout -out "$TMP/ed.pub.pem" || fail "openssl pkey failed"
run 0 "$KG" mpc import --ca-dir "$D" --nodes "$NODES" --key-file "$TMP/ed.pem" --threshold 2 --parties 3,1,2 --json
KEY=$(jq -r .key_id "$TMP/out")
[ "$(jq -r .public_key "$TMP/out")" = "$(ed_pub_b64 "$TMP/ed.pem")" ] || fail "group key differs from OpenSSL's public key"
[ "$(jq -r .public_key "$D/keys/$KEY.json")" = "$(ed_pub_b64 "$TMP/ed.pem")" ] || fail "the key record has another key"
[ "$(jq -r '.threshold, .n, .epoch' "$TMP/out" | tr '\n' ' ')" = "2 3 0 " ] || fail "bad record: $(cat "$TMP/out")"

step "sign through the nodes, verify with openssl against the ORIGINAL public key"
printf 'imported key, threshold signature\n' >"$TMP/msg"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
base64 -d <"$TMP/out" >"$TMP/sig.bin"
openssl pkeyutl -verify -pubin -inkey "$TMP/ed.pub.pem" -rawin -in "$TMP/msg" -sigfile "$TMP/sig.bin" >/dev/null \
    || fail "OpenSSL rejects the threshold signature under the original key"
printf 'x' >>"$TMP/msg"
openssl pkeyutl -verify -pubin -inkey "$TMP/ed.pub.pem" -rawin -in "$TMP/msg" -sigfile "$TMP/sig.bin" >/dev/null 2>&1 \
    && fail "OpenSSL accepted the signature over another message"
mpc_kill_node 2
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
base64 -d <"$TMP/out" >"$TMP/sig.bin"
openssl pkeyutl -verify -pubin -inkey "$TMP/ed.pub.pem" -rawin -in "$TMP/msg" -sigfile "$TMP/sig.bin" >/dev/null \
    || fail "nodes 1 and 3 made a signature OpenSSL rejects"
mpc_start_node 2

step "the imported key refreshes like a DKG key (epoch 1) and still signs for the original public key"
run 0 "$KG" mpc refresh --ca-dir "$D" --key "$KEY"
[ "$(jq -r .epoch "$D/keys/$KEY.json")" = 1 ] || fail "refresh did not move the imported key to epoch 1"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KEY" --message "@$TMP/msg"
base64 -d <"$TMP/out" >"$TMP/sig.bin"
openssl pkeyutl -verify -pubin -inkey "$TMP/ed.pub.pem" -rawin -in "$TMP/msg" -sigfile "$TMP/sig.bin" >/dev/null \
    || fail "after a refresh the signature does not verify under the original key"

step "secp256k1 from openssl ecparam: frost-secp256k1 (compressed keys equal) and frost-secp256k1-tr (x-only)"
openssl ecparam -name secp256k1 -genkey -out "$TMP/k1.pem" 2>/dev/null || fail "openssl ecparam failed"
run 0 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/k1.pem" --scheme frost-secp256k1 --threshold 2 --parties 1,2,3 --json
K1=$(jq -r .key_id "$TMP/out")
[ "$(jq -r .public_key "$TMP/out")" = "$(ec_pub_b64 "$TMP/k1.pem")" ] || fail "secp256k1 group key differs"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$K1" --message hello
[ "$(base64 -d <"$TMP/out" | wc -c)" -eq 65 ] || fail "bad secp256k1 signature size"
run 0 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/k1.pem" --scheme frost-secp256k1-tr --threshold 3 --parties 1,2,3 --json
TR=$(jq -r .key_id "$TMP/out")
XONLY=$(ec_pub_b64 "$TMP/k1.pem" | base64 -d | tail -c 32 | base64 -w0)
[ "$(jq -r .public_key "$TMP/out")" = "$XONLY" ] || fail "taproot x-only key differs"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$TR" --message hello
[ "$(base64 -d <"$TMP/out" | wc -c)" -eq 64 ] || fail "bad BIP340 signature size"

step "bad input: threshold > parties, unknown node, wrong curve, not a key"
run 1 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/ed.pem" --threshold 3 --parties 1,2
grep -q "more than" "$TMP/err" || fail "no threshold error: $(cat "$TMP/err")"
run 1 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/ed.pem" --threshold 2 --parties 1,2,7
grep -q "node 7" "$TMP/err" || fail "unknown node 7 not named: $(cat "$TMP/err")"
run 1 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/k1.pem" --scheme frost-p256 --threshold 2 --parties 1,2
grep -q "curve" "$TMP/err" || fail "wrong curve not reported: $(cat "$TMP/err")"
run 1 "$KG" mpc import --ca-dir "$D" --key-file "$TMP/msg" --threshold 2 --parties 1,2
[ "$(ls "$D/keys" | wc -l)" -eq 3 ] || fail "a refused import left a key record"

# ------------------------------------------------------------- REST mode
for i in 1 2 3; do mpc_kill_node "$i"; done
DATA=$TMP/data
shares_held() { "$KG" mpc status --json | jq '[.nodes[].shares] | add'; }

step "dev server: GET /v1/mpc/nodes publishes the envelope keys"
mpc_start_dev_server "$DATA" 3
st=$(http GET /v1/mpc/nodes)
[ "$st" = 200 ] || fail "nodes: HTTP $st"
for i in 1 2 3; do
    [ "$(jq -r ".nodes[] | select(.id == $i) | .envelope_public" "$TMP/body" | base64 -d | wc -c)" -eq 64 ] \
        || fail "node $i has no envelope_public"
    [ "$(jq -r ".nodes[] | select(.id == $i) | .envelope_public" "$TMP/body" | base64 -d | od -An -tx1 | tr -d ' \n')" \
        = "$(od -An -tx1 "$DATA/mpc/nodes/$i.pub" | tr -d ' \n')" ] || fail "node $i: envelope_public is not its key"
done

step "REST: import the Ed25519 key 2-of-3, sign, verify with the original public key"
run 0 "$KG" mpc import --key-file "$TMP/ed.pem" --threshold 2 --parties 1,2,3 --json
RK=$(jq -r .key_id "$TMP/out")
[ "$(jq -r .public_key "$TMP/out")" = "$(ed_pub_b64 "$TMP/ed.pem")" ] || fail "REST import: group key differs"
st=$(http GET "/v1/mpc/keys/$RK")
[ "$st" = 200 ] && [ "$(jq -r .public_key "$TMP/body")" = "$(ed_pub_b64 "$TMP/ed.pem")" ] || fail "key document: $(cat "$TMP/body")"
[ "$(jq -r .epoch "$TMP/body")" = 0 ] || fail "imported key is not at epoch 0"
printf 'through the server\n' >"$TMP/msg"
run 0 "$KG" mpc sign --key "$RK" --message "@$TMP/msg"
base64 -d <"$TMP/out" >"$TMP/sig.bin"
openssl pkeyutl -verify -pubin -inkey "$TMP/ed.pub.pem" -rawin -in "$TMP/msg" -sigfile "$TMP/sig.bin" >/dev/null \
    || fail "OpenSSL rejects the server's threshold signature under the original key"
grep -q "$(sed -n 2p "$TMP/ed.pem")" "$SERVER_ERR" "$TMP"/server-*.out && fail "key material in the server's output"

step "REST: a tampered sealed share is refused by its node, nothing is stored"
HELD=$(shares_held)
[ "$HELD" -eq 3 ] || fail "expected 3 shares held, got $HELD"
run 0 "$KG" mpc import --key-file "$TMP/ed.pem" --threshold 2 --parties 1,2,3 --request-out "$TMP/req.json"
grep -q "PRIVATE" "$TMP/req.json" && fail "the request body holds the key"
S2=$(jq -r '.shares["2"]' "$TMP/req.json" | base64 -d | od -An -tx1 -v | tr -d ' \n')
LAST=${S2: -2}; FLIP=$(printf '%02x' $((0x$LAST ^ 1)))
BAD=$(printf '%s' "${S2:0:${#S2}-2}$FLIP" | xxd -r -p | base64 -w0)
jq --arg s "$BAD" '.shares["2"] = $s' "$TMP/req.json" >"$TMP/bad.json"
st=$(http POST /v1/mpc/keys/import "$TMP/bad.json")
[ "$st" != 200 ] || fail "a tampered share was accepted"
jq -r .error.message "$TMP/body" | grep -q "node 2: dealer: the share sealed to node 2 does not open" \
    || fail "the node did not name the dealer: $(cat "$TMP/body")"
[ "$(shares_held)" -eq "$HELD" ] || fail "a node kept a share of the refused import"
st=$(http POST /v1/mpc/keys/import "$TMP/req.json")
[ "$st" = 200 ] || fail "the untampered request failed: HTTP $st $(cat "$TMP/body")"
[ "$(shares_held)" -eq $((HELD + 3)) ] || fail "the good import did not give every node a share"

step "REST: unknown node, threshold > parties, bad commitments"
jq '.parties = [1,2,9] | .shares = {"1": .shares["1"], "2": .shares["2"], "9": .shares["3"]}' "$TMP/req.json" >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys/import "$TMP/bad.json"
jq -r .error.message "$TMP/body" | grep -q "unknown node id 9" || fail "unknown node not named: $(cat "$TMP/body")"
jq '.threshold = 4' "$TMP/req.json" >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys/import "$TMP/bad.json"
jq '.commitments[0] = "AAAA"' "$TMP/req.json" >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/mpc/keys/import "$TMP/bad.json"
run 1 "$KG" mpc import --key-file "$TMP/ed.pem" --threshold 2 --parties 1,2,9
grep -q "node 9" "$TMP/err" || fail "CLI: unknown node not named: $(cat "$TMP/err")"
[ "$(shares_held)" -eq $((HELD + 3)) ] || fail "a refused import changed the nodes"

echo "PASS"
