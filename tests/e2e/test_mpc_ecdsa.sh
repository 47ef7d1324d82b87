#!/usr/bin/env bash
# End to end: threshold ECDSA (CGGMP21) over the network, through the server
# API and the CLI (docs/mpc.md "Threshold ECDSA over the network").
# `kashguard server --dev --mpc-nodes 3` coordinates three node processes
# (2048-bit Paillier moduli, prime pools seeded from the test fixture through
# KG_MPC_DEV_PRIMES, so no prime is generated during the test). Every
# signature is checked by code we did not write:
#   - ethers v6 (tests/evm) recovers the public key of each digest signature
#     and @scure/bip32 derives the BIP32 child from the key and its chain code;
#   - the hardhat node (EDR) mines an EIP-1559 transfer from the MPC key's
#     address; balances are exact (gas from the node's receipt);
#   - tests/btc/esplora.mjs (scure's BIP143 sighash, noble's ECDSA) accepts a
#     P2WPKH spend of a PSBT built by @scure/btc-signer and signed by the server.
# Also: 2-of-3 keys via REST and CLI, presign, sign with and without a path,
# refresh (same key, new epoch), 403 for a describe-only token, bad input
# (400/404, nothing changed), and a node killed: signing goes on with two.
# Skips (77) when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/mpc_lib.sh
. "$SRC/tests/e2e/mpc_lib.sh"
BTC_DIR="$SRC/tests/btc"
EVM_DIR_SRC="$SRC/tests/evm"
# shellcheck source=tests/btc/lib.sh
. "$BTC_DIR/lib.sh"
btc_setup
# shellcheck source=tests/evm/lib.sh
. "$EVM_DIR_SRC/lib.sh"
evm_setup

DATA=$TMP/data
PEER_PIDS=()
stop_peers() { for p in "${PEER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'stop_peers; evm_stop; mpc_cleanup' EXIT

export KG_MPC_PAILLIER_BITS=2048
export KG_MPC_DEV_PRIMES="$SRC/tests/mpc/fixtures/safe_primes_1024.txt"

b64hex() { base64 -d | xxd -p -c 256; }
# verify DIGEST_HEX SIG_B64 RECID PUB_B64: ethers recovers PUB from the signature
verify() {
    (cd "$EVM_DIR_SRC" && node --input-type=module -e '
        import { ethers } from "ethers";
        const [d, sig, recid, pub] = process.argv.slice(1);
        const s = Buffer.from(sig, "base64");
        if (s.length !== 64) { console.error("signature is not 64 bytes"); process.exit(1); }
        const hs = (b) => "0x" + b.toString("hex");
        const n = ethers.toBigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
        if (ethers.toBigInt(hs(s.subarray(32))) > n / 2n) { console.error("high S"); process.exit(1); }
        const sg = ethers.Signature.from({ r: hs(s.subarray(0, 32)), s: hs(s.subarray(32)), v: 27 + Number(recid) });
        const got = ethers.SigningKey.computePublicKey(ethers.SigningKey.recoverPublicKey("0x" + d, sg), true);
        const want = hs(Buffer.from(pub, "base64"));
        if (got !== want) { console.error("recovered " + got + ", want " + want); process.exit(1); }' "$@") \
        || fail "ethers does not verify the signature of $1"
}
digest() { printf '%s' "$1" | sha256sum | cut -c1-64; }
sign_rest() { # sign_rest KEY DIGEST_HEX [PATH]: body in $TMP/body
    local path=${3:-}
    if [ -n "$path" ]; then
        printf '{"digest":"%s","path":"%s"}' "$(printf '%s' "$2" | xxd -r -p | base64 -w0)" "$path" >"$TMP/s.json"
    else
        printf '{"digest":"%s"}' "$(printf '%s' "$2" | xxd -r -p | base64 -w0)" >"$TMP/s.json"
    fi
    local st
    st=$(http POST "/v1/mpc/keys/$1/sign" "$TMP/s.json")
    [ "$st" = 200 ] || fail "sign: HTTP $st: $(head -c 400 "$TMP/body")"
}

step "dev server with three MPC nodes; a 2-of-3 cggmp21-secp256k1 key via REST"
mpc_start_dev_server "$DATA" 3
printf '{"scheme":"cggmp21-secp256k1","threshold":2,"parties":3}' >"$TMP/kg.json"
st=$(http POST /v1/mpc/keys "$TMP/kg.json")
[ "$st" = 200 ] || fail "keygen: HTTP $st: $(head -c 400 "$TMP/body")"
KEY=$(jq -r .key_id "$TMP/body")
PUB=$(jq -r .public_key "$TMP/body")
CC=$(jq -r .chain_code "$TMP/body")
jq -e '.scheme == "cggmp21-secp256k1" and .threshold == 2 and .parties == 3 and .epoch == 0' "$TMP/body" >/dev/null \
    || fail "keygen: $(cat "$TMP/body")"
[ "$(printf '%s' "$PUB" | base64 -d | wc -c)" -eq 33 ] || fail "public key is not 33 bytes"
[ "$(printf '%s' "$CC" | base64 -d | wc -c)" -eq 32 ] || fail "chain code is not 32 bytes"
st=$(http GET "/v1/mpc/keys/$KEY")
[ "$st" = 200 ] && [ "$(jq -r .chain_code "$TMP/body")" = "$CC" ] || fail "GET: $(cat "$TMP/body")"
grep -qi 'secret\|share\|paillier' "$TMP/body" && fail "the key document mentions secrets"

step "a second key through the CLI"
run 0 "$KG" mpc keygen --scheme cggmp21-secp256k1 --threshold 2 --parties 3 --json
KEY2=$(jq -r .key_id "$TMP/out")
[[ $KEY2 == mpc-* && $KEY2 != "$KEY" ]] || fail "mpc keygen: $(cat "$TMP/out")"
[ "$(jq -r .scheme "$TMP/out")" = cggmp21-secp256k1 ] || fail "mpc keygen scheme: $(cat "$TMP/out")"

step "presign 3 (REST) and 1 (CLI)"
printf '{"count":3}' >"$TMP/p.json"
st=$(http POST "/v1/mpc/keys/$KEY/presign" "$TMP/p.json")
[ "$st" = 200 ] && [ "$(jq .made "$TMP/body")" = 3 ] || fail "presign: HTTP $st: $(cat "$TMP/body")"
run 0 "$KG" mpc presign "$KEY2" --count 1 --json
[ "$(jq .made "$TMP/out")" = 1 ] || fail "mpc presign: $(cat "$TMP/out")"

step "sign a digest (REST, no path): ethers recovers the group key"
D1=$(digest "pay bob 1 ETH")
sign_rest "$KEY" "$D1"
jq -e --arg p "$PUB" '.public_key == $p and .path == "m" and (.recovery_id | . == 0 or . == 1)' "$TMP/body" \
    >/dev/null || fail "sign: $(cat "$TMP/body")"
SIG1=$(jq -r .signature "$TMP/body")
verify "$D1" "$SIG1" "$(jq .recovery_id "$TMP/body")" "$PUB"
(verify "$(digest other)" "$SIG1" "$(jq .recovery_id "$TMP/body")" "$PUB") >/dev/null 2>&1 \
    && fail "ethers recovered the key for another digest"

step "sign with path m/0/5: the child key is the BIP32 child (@scure/bip32)"
D2=$(digest "child spend")
sign_rest "$KEY" "$D2" m/0/5
CHILD=$(jq -r .public_key "$TMP/body")
[ "$CHILD" != "$PUB" ] || fail "the child key equals the group key"
verify "$D2" "$(jq -r .signature "$TMP/body")" "$(jq .recovery_id "$TMP/body")" "$CHILD"
WANT=$(cd "$BTC_DIR" && node --input-type=module -e '
    import { HDKey } from "@scure/bip32";
    const [pub, cc] = process.argv.slice(1).map((x) => Buffer.from(x, "base64"));
    const k = new HDKey({ publicKey: pub, chainCode: cc }).derive("m/0/5");
    console.log(Buffer.from(k.publicKey).toString("base64"));' "$PUB" "$CC") || fail "scure bip32 failed"
[ "$CHILD" = "$WANT" ] || fail "child key $CHILD, @scure/bip32 says $WANT"

step "mpc sign --digest (CLI) prints the signature and the recovery id"
D3=$(digest "cli")
run 0 "$KG" mpc sign --key "$KEY" --digest "$D3" --path m/1
grep -q '^signature ' "$TMP/out" && grep -q '^recovery_id ' "$TMP/out" || fail "mpc sign: $(cat "$TMP/out")"
run 0 "$KG" mpc sign --key "$KEY" --digest-b64 "$(printf '%s' "$D3" | xxd -r -p | base64 -w0)" --json
verify "$D3" "$(jq -r .signature "$TMP/out")" "$(jq .recovery_id "$TMP/out")" "$PUB"

step "refresh (CLI): new epoch, same key; signing goes on"
run 0 "$KG" mpc refresh --key "$KEY2" --json
jq -e '.epoch == 1' "$TMP/out" >/dev/null || fail "refresh: $(cat "$TMP/out")"
st=$(http GET "/v1/mpc/keys/$KEY2")
PUB2=$(jq -r .public_key "$TMP/body")
[ "$(jq -r .public_key "$TMP/out")" = "$PUB2" ] || fail "refresh changed the key"
D4=$(digest "after refresh")
sign_rest "$KEY2" "$D4"
verify "$D4" "$(jq -r .signature "$TMP/body")" "$(jq .recovery_id "$TMP/body")" "$PUB2"

step "policies: a describe-only token gets 403 on sign and presign"
printf '{"name":"ecdsa-read","rules":[{"keys":["mpc-*"],"actions":["describe"]}]}' >"$TMP/pol.json"
run 0 "$KG" policy write "$TMP/pol.json"
run 0 "$KG" token create --policy ecdsa-read --ttl 1h
ROOT=$KASHGUARD_TOKEN
KASHGUARD_TOKEN=$(cat "$TMP/out")
printf '{"digest":"%s"}' "$(printf '%s' "$D1" | xxd -r -p | base64 -w0)" >"$TMP/ok.json"
assert_http 403 permission_denied POST "/v1/mpc/keys/$KEY/sign" "$TMP/ok.json"
assert_http 403 permission_denied POST "/v1/mpc/keys/$KEY/presign" "$TMP/p.json"
[ "$(http GET "/v1/mpc/keys/$KEY")" = 200 ] || fail "describe: $(cat "$TMP/body")"
KASHGUARD_TOKEN=$ROOT

step "bad input: 400/404 with a clear message, nothing changed"
http GET "/v1/mpc/keys/$KEY" >/dev/null; cp "$TMP/body" "$TMP/before.json"
printf '{"digest":"%s"}' "$(head -c 31 /dev/zero | base64 -w0)" >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/sign" "$TMP/bad.json"
grep -q '32 bytes' "$TMP/body" || fail "digest length message: $(cat "$TMP/body")"
printf '{"digest":"%s","path":"m/0h/5"}' "$(printf '%s' "$D1" | xxd -r -p | base64 -w0)" >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/sign" "$TMP/bad.json"
grep -q 'hardened' "$TMP/body" || fail "hardened path message: $(cat "$TMP/body")"
printf '{"message":"aGk="}' >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/sign" "$TMP/bad.json"
grep -q 'digest' "$TMP/body" || fail "message-on-ECDSA message: $(cat "$TMP/body")"
assert_http 404 not_found POST "/v1/mpc/keys/mpc-00000000000000000000000000000000/sign" "$TMP/ok.json"
for c in 0 100000; do
    printf '{"count":%s}' "$c" >"$TMP/bad.json"
    assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/presign" "$TMP/bad.json"
    grep -q '1\.\.1000' "$TMP/body" || fail "count message: $(cat "$TMP/body")"
done
run 1 "$KG" mpc sign --key "$KEY" --digest abcd
grep -q '64 hex digits' "$TMP/err" || fail "CLI digest message: $(cat "$TMP/err")"
http GET "/v1/mpc/keys/$KEY" >/dev/null
cmp -s "$TMP/before.json" "$TMP/body" || fail "the key record changed after bad requests"

step "Ethereum: the dev account funds the MPC address; mpc send --chain eth (EIP-1559); exact balances"
evm_start
st=$(http GET "/v1/mpc/keys/$KEY/address?chain=eth")
[ "$st" = 200 ] || fail "address: HTTP $st: $(cat "$TMP/body")"
EA=$(jq -r .address "$TMP/body")
run 0 "$KG" mpc address --key "$KEY" --chain eth
[ "$(cat "$TMP/out")" = "$EA" ] || fail "CLI address $(cat "$TMP/out") != $EA"
WANT=$(cd "$EVM_DIR_SRC" && node --input-type=module -e '
    import { ethers } from "ethers";
    console.log(ethers.computeAddress("0x" + Buffer.from(process.argv[1], "base64").toString("hex")));' "$PUB")
[ "$EA" = "$WANT" ] || fail "address $EA, ethers says $WANT"
evm_rpc eth_sendTransaction "[{\"from\":\"$EVM_ADDR0\",\"to\":\"$EA\",\"value\":\"0xde0b6b3a7640000\"}]" >/dev/null \
    || fail "funding failed"
bal() { evm_rpc eth_getBalance "[\"$1\",\"latest\"]" | tr -d '"'; }
B1=$(bal "$EVM_ADDR3")
[ "$(bal "$EA")" = 0xde0b6b3a7640000 ] || fail "MPC address balance $(bal "$EA")"
run 0 "$KG" mpc send --key "$KEY" --chain eth --to "$EVM_ADDR3" --amount 0.25 --rpc "$EVM_RPC" --json
jq -e '.status == "success" and .value_wei == "250000000000000000"' "$TMP/out" >/dev/null || fail "send: $(cat "$TMP/out")"
HASH=$(jq -r .tx_hash "$TMP/out")
evm_rpc eth_getTransactionByHash "[\"$HASH\"]" >"$TMP/tx.json"
[ "$(jq -r .type "$TMP/tx.json")" = 0x2 ] || fail "not an EIP-1559 tx: $(cat "$TMP/tx.json")"
[ "$(jq -r .from "$TMP/tx.json" | tr A-F a-f)" = "$(printf '%s' "$EA" | tr A-F a-f)" ] || fail "from: $(cat "$TMP/tx.json")"
evm_rpc eth_getTransactionReceipt "[\"$HASH\"]" >"$TMP/rc.json"
node -e '
    const [fund, now, rcpt, b1, b1now] = process.argv.slice(1);
    const r = JSON.parse(rcpt);
    const gas = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice);
    const want = BigInt(fund) - 250000000000000000n - gas;
    if (BigInt(now) !== want) { console.error(`sender ${BigInt(now)} != ${want}`); process.exit(1); }
    if (BigInt(b1now) - BigInt(b1) !== 250000000000000000n) { console.error("recipient delta"); process.exit(1); }' \
    0xde0b6b3a7640000 "$(bal "$EA")" "$(cat "$TMP/rc.json")" "$B1" "$(bal "$EVM_ADDR3")" || fail "balances are not exact"

step "Bitcoin: a P2WPKH PSBT of child m/0/1 (@scure/btc-signer) signed by the server; the peer accepts it"
run 0 "$KG" mpc address --key "$KEY" --chain bitcoin --network regtest --path m/0/1 --json
BA=$(jq -r .address "$TMP/out")
BPUB=$(jq -r .public_key "$TMP/out")
[[ $BA == bcrt1q* ]] || fail "P2WPKH address: $(cat "$TMP/out")"
node "$BTC_DIR/esplora.mjs" --network regtest --fund "$BA:60000" >"$TMP/btc.out" 2>"$TMP/btc.err" &
PEER_PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$TMP/btc.out" ] && break; sleep 0.05; done
BTC_URL=$(jq -r .url "$TMP/btc.out" 2>/dev/null)
[[ $BTC_URL == http://127.0.0.1:*/api ]] || { cat "$TMP/btc.err" >&2; fail "esplora.mjs did not start"; }
jq -c '.funded[0]' "$TMP/btc.out" >"$TMP/coin.json"
(cd "$BTC_DIR" && node --input-type=module -e '
    import * as btc from "@scure/btc-signer"; import { hex } from "@scure/base"; import { readFileSync } from "node:fs";
    const net = { ...btc.TEST_NETWORK, bech32: "bcrt" };
    const [coinFile, pub, to] = process.argv.slice(1);
    const c = JSON.parse(readFileSync(coinFile, "utf8"));
    const pay = btc.p2wpkh(hex.decode(pub), net);
    if (pay.address !== to) { console.error("scure P2WPKH " + pay.address + " != " + to); process.exit(1); }
    const tx = new btc.Transaction();
    tx.addInput({ txid: c.txid, index: c.vout, witnessUtxo: { script: pay.script, amount: BigInt(c.value) } });
    tx.addOutputAddress(to, 59000n, net);
    console.log(Buffer.from(tx.toPSBT()).toString("base64"));' "$TMP/coin.json" "${BPUB#0x}" "$BA") >"$TMP/spend.psbt" \
    || fail "could not build the PSBT"
run 0 "$KG" mpc psbt --key "$KEY" --psbt "@$TMP/spend.psbt" --network regtest --path m/0/1 --finalize --json
jq -e '.signed_inputs == 1 and (.tx | test("^[0-9a-f]+$"))' "$TMP/out" >/dev/null || fail "mpc psbt: $(cat "$TMP/out")"
(cd "$BTC_DIR" && node btc.mjs finalize "$(jq -r .psbt "$TMP/out")") >"$TMP/fin.json" \
    || fail "@scure/btc-signer does not verify the MPC signature: $(cat "$TMP/fin.json")"
[ "$(jq -r .txid "$TMP/fin.json")" = "$(jq -r .txid "$TMP/out")" ] || fail "scure and the server disagree on the txid"
jq -r .tx "$TMP/out" >"$TMP/tx.hex"
TXID=$(curl -sS -X POST --data-binary "@$TMP/tx.hex" "$BTC_URL/tx")
[ "$TXID" = "$(jq -r .txid "$TMP/out")" ] || fail "the peer refused the transaction: $TXID"
printf '{"psbt":"%s","network":"regtest"}' "$(cat "$TMP/spend.psbt")" >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$KEY/psbt" "$TMP/bad.json"  # path m: not this input's key

step "node 3 killed: presign and sign go on with nodes 1 and 2"
N3=
for p in $(pgrep -P "$SERVER_PID"); do
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "--data $DATA/mpc/node3 " && N3=$p
done
[ -n "$N3" ] || fail "node 3's process not found"
kill -KILL "$N3"
for _ in $(seq 1 50); do kill -0 "$N3" 2>/dev/null || break; sleep 0.1; done
D5=$(digest "with two nodes")
sign_rest "$KEY" "$D5" m/0/5
[ "$(jq -r .public_key "$TMP/body")" = "$CHILD" ] || fail "child key changed"
verify "$D5" "$(jq -r .signature "$TMP/body")" "$(jq .recovery_id "$TMP/body")" "$CHILD"
printf '{"count":2}' >"$TMP/p.json"
st=$(http POST "/v1/mpc/keys/$KEY2/presign" "$TMP/p.json")
[ "$st" = 200 ] && [ "$(jq .made "$TMP/body")" = 2 ] || fail "presign with two nodes: HTTP $st: $(cat "$TMP/body")"
D6=$(digest "two again")
sign_rest "$KEY2" "$D6"
verify "$D6" "$(jq -r .signature "$TMP/body")" "$(jq .recovery_id "$TMP/body")" "$PUB2"
echo "ok"
