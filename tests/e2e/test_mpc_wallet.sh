#!/usr/bin/env bash
# End to end: wallets on MPC keys through the server API and CLI
# (docs/mpc.md "Wallets on MPC keys"). `kashguard server --dev --mpc-nodes 3`
# is the coordinator of three node processes; the chain peers verify every
# signature with code we did not write:
#   - tests/btc/esplora.mjs (Esplora API; @scure/btc-signer's BIP341 sighash,
#     noble's BIP340 verifier, UTXO set, min relay fee);
#   - tests/chain/interop/solana_node.mjs (Solana JSON-RPC over LiteSVM, the
#     real runtime: ed25519 signature, blockhash, fee, System Program).
#
#   - a 2-of-3 frost-secp256k1-tr key: its regtest P2TR address (the same
#     through the CLI, and the BIP86 output key of its x-only group key as
#     @scure/btc-signer computes it); the node funds it with two coins;
#   - a PSBT built by @scure/btc-signer spending one coin is signed through
#     `mpc psbt --finalize`; the node accepts the transaction;
#   - `mpc send --chain bitcoin` pays a second MPC key's address; the node
#     accepts it; the balances of both addresses are exact (fees from the
#     node's own view of the transactions);
#   - node 3 is killed: a Solana transfer from a 2-of-3 frost-ed25519 key and a
#     second bitcoin send still go through with the two nodes left; exact
#     lamport balances (5000 lamports fee);
#   - wrong scheme/chain pairs are a 400 naming the scheme needed; a tampered
#     copy of the MPC-signed transaction is refused by the Bitcoin peer.
# Skips (77) when node/npm, the npm registry or LiteSVM is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/mpc_lib.sh
. "$SRC/tests/e2e/mpc_lib.sh"
BTC_DIR="$SRC/tests/btc"
IDIR="$SRC/tests/chain/interop"
command -v jq >/dev/null || skip "jq is not installed"
# shellcheck source=tests/btc/lib.sh
. "$BTC_DIR/lib.sh"
btc_setup
# shellcheck source=tests/chain/interop/setup.sh
. "$IDIR/setup.sh"
interop_setup "$IDIR"
(cd "$IDIR" && node -e 'require("litesvm")') >/dev/null 2>&1 || skip "litesvm does not load here"

DATA=$TMP/data
PEER_PIDS=()
stop_peers() { for p in "${PEER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'stop_peers; mpc_cleanup' EXIT


keygen() { # keygen SCHEME: prints the key id of a new 2-of-3 key
    printf '{"scheme":"%s","threshold":2,"parties":3}' "$1" >"$TMP/kg.json"
    local st
    st=$(http POST /v1/mpc/keys "$TMP/kg.json")
    [ "$st" = 200 ] || fail "keygen $1: HTTP $st: $(head -c 300 "$TMP/body")"
    jq -r .key_id "$TMP/body"
}
api() { curl -sS --max-time 10 "$BTC_URL$1"; }
btc_balance() { # confirmed + mempool balance of an address, from the peer
    api "/address/$1" | jq '.chain_stats.funded_txo_sum - .chain_stats.spent_txo_sum
                             + .mempool_stats.funded_txo_sum - .mempool_stats.spent_txo_sum'
}
sol_balance() {
    curl -sS -X POST -H 'Content-Type: application/json' \
        --data '{"jsonrpc":"2.0","id":1,"method":"getBalance","params":["'"$1"'"]}' "$SOL_RPC" | jq .result.value
}

step "dev server with three MPC nodes; 2-of-3 taproot and Ed25519 keys"
mpc_start_dev_server "$DATA" 3
TR=$(keygen frost-secp256k1-tr)
TR2=$(keygen frost-secp256k1-tr)
ED=$(keygen frost-ed25519)
ED2=$(keygen frost-ed25519)

step "addresses: P2TR (BIP86) on regtest, Solana; the CLI agrees"
st=$(http GET "/v1/mpc/keys/$TR/address?chain=bitcoin&network=regtest")
[ "$st" = 200 ] || fail "address: HTTP $st: $(cat "$TMP/body")"
A=$(jq -r .address "$TMP/body")
IK=$(jq -r .internal_key "$TMP/body")
[[ $A == bcrt1p* ]] || fail "not a regtest P2TR address: $(cat "$TMP/body")"
[ "$(jq -r '.type, .network, .scheme' "$TMP/body" | tr '\n' ' ')" = "p2tr regtest frost-secp256k1-tr " ] \
    || fail "address document: $(cat "$TMP/body")"
# the x-only group key of the key document is the internal key; scure's BIP86 output of it is the address
PUBX=$(http GET "/v1/mpc/keys/$TR" >/dev/null; jq -r .public_key "$TMP/body" | base64 -d | xxd -p -c 64 | tail -c 65)
[ "0x$PUBX" = "$IK" ] || fail "internal key $IK is not the group key's x ($PUBX)"
WANT=$(cd "$BTC_DIR" && node --input-type=module -e '
    import * as btc from "@scure/btc-signer"; import { hex } from "@scure/base";
    const net = { ...btc.TEST_NETWORK, bech32: "bcrt" };
    console.log(btc.p2tr(hex.decode(process.argv[1]), undefined, net).address);' "${IK#0x}")
[ "$A" = "$WANT" ] || fail "P2TR address $A, @scure/btc-signer says $WANT"
run 0 "$KG" mpc address --key "$TR" --chain bitcoin --network regtest
[ "$(cat "$TMP/out")" = "$A" ] || fail "CLI address $(cat "$TMP/out") != $A"
run 0 "$KG" mpc address --key "$TR2" --chain bitcoin --network regtest
B=$(cat "$TMP/out")
run 0 "$KG" mpc address --key "$ED" --chain solana
S=$(cat "$TMP/out")
run 0 "$KG" mpc address --key "$ED2" --chain solana
S2=$(cat "$TMP/out")
[[ $S =~ ^[1-9A-HJ-NP-Za-km-z]{32,44}$ && $S != "$S2" ]] || fail "Solana addresses $S $S2"
run 0 "$KG" mpc address --key "$TR" --chain bitcoin
[[ $(cat "$TMP/out") == bc1p* ]] || fail "mainnet default: $(cat "$TMP/out")"

step "wrong scheme/chain pairs: 400 naming the scheme needed"
assert_http 400 bad_input GET "/v1/mpc/keys/$ED/address?chain=bitcoin"
grep -q 'frost-secp256k1-tr' "$TMP/body" || fail "message: $(cat "$TMP/body")"
assert_http 400 bad_input GET "/v1/mpc/keys/$TR/address?chain=solana"
grep -q 'frost-ed25519' "$TMP/body" || fail "message: $(cat "$TMP/body")"
assert_http 400 bad_input GET "/v1/mpc/keys/$TR/address?chain=ethereum"
assert_http 400 bad_input GET "/v1/mpc/keys/$ED/address?chain=solana&network=regtest"
printf '{"to":"%s","lamports":5,"rpc":"http://127.0.0.1:1/"}' "$S2" >"$TMP/bad.json"
assert_http 400 bad_input POST "/v1/mpc/keys/$TR/solana/transfer" "$TMP/bad.json"

step "the Bitcoin peer funds $A with 150000 and 40000 sat"
node "$BTC_DIR/esplora.mjs" --network regtest --fund "$A:150000" --fund "$A:40000" \
    >"$TMP/btc.out" 2>"$TMP/btc.err" &
PEER_PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$TMP/btc.out" ] && break; sleep 0.05; done
BTC_URL=$(jq -r .url "$TMP/btc.out" 2>/dev/null)
[[ $BTC_URL == http://127.0.0.1:*/api ]] || { cat "$TMP/btc.err" >&2; fail "esplora.mjs did not start"; }
[ "$(btc_balance "$A")" = 190000 ] || fail "funded balance $(btc_balance "$A")"

step "a PSBT from @scure/btc-signer spends the 40000 coin; mpc psbt --finalize; the peer accepts it"
jq -c '.funded[] | select(.value == 40000)' "$TMP/btc.out" >"$TMP/coin.json"
(cd "$BTC_DIR" && node --input-type=module -e '
    import * as btc from "@scure/btc-signer"; import { hex } from "@scure/base"; import { readFileSync } from "node:fs";
    const net = { ...btc.TEST_NETWORK, bech32: "bcrt" };
    const [coinFile, ik, to] = process.argv.slice(1);
    const c = JSON.parse(readFileSync(coinFile, "utf8"));
    const tx = new btc.Transaction();
    const pay = btc.p2tr(hex.decode(ik), undefined, net);
    tx.addInput({ txid: c.txid, index: c.vout, witnessUtxo: { script: pay.script, amount: BigInt(c.value) } });
    tx.addOutputAddress(to, 39000n, net);
    console.log(Buffer.from(tx.toPSBT()).toString("base64"));' "$TMP/coin.json" "${IK#0x}" "$B") >"$TMP/spend.psbt" \
    || fail "could not build the PSBT"
run 0 "$KG" mpc psbt --key "$TR" --psbt "@$TMP/spend.psbt" --network regtest --finalize --json
jq -e '.signed_inputs == 1 and (.tx | test("^[0-9a-f]+$"))' "$TMP/out" >/dev/null || fail "mpc psbt: $(cat "$TMP/out")"
jq -r .psbt "$TMP/out" >"$TMP/signed.psbt"
(cd "$BTC_DIR" && node btc.mjs finalize "$(cat "$TMP/signed.psbt")") >"$TMP/fin.json" \
    || fail "@scure/btc-signer does not verify the MPC signature: $(cat "$TMP/fin.json")"
[ "$(jq -r .txid "$TMP/fin.json")" = "$(jq -r .txid "$TMP/out")" ] || fail "scure and the server disagree on the txid"
jq -r .tx "$TMP/out" >"$TMP/psbt-tx.hex"
TXP=$(curl -sS -X POST --data-binary "@$TMP/psbt-tx.hex" "$BTC_URL/tx")
[ "$TXP" = "$(jq -r .txid "$TMP/out")" ] || fail "the peer refused the PSBT transaction: $TXP"
[ "$(btc_balance "$A")" = 150000 ] || fail "after the PSBT spend: $(btc_balance "$A")"
[ "$(btc_balance "$B")" = 39000 ] || fail "recipient after the PSBT spend: $(btc_balance "$B")"

step "mpc send --chain bitcoin: 0.0005 BTC to the second key; exact balances"
run 0 "$KG" mpc send --key "$TR" --chain bitcoin --network regtest --to "$B" --amount 0.0005 --rpc "$BTC_URL" --json
TX1=$(jq -r .txid "$TMP/out")
[[ $TX1 =~ ^[0-9a-f]{64}$ ]] || fail "send: $(cat "$TMP/out")"
api "/tx/$TX1" >"$TMP/tx1.json"
FEE1=$(jq .fee "$TMP/tx1.json")
[ "$FEE1" = "$(jq .fee_sat "$TMP/out")" ] || fail "fee: node $FEE1, server $(jq .fee_sat "$TMP/out")"
jq -e --arg b "$B" '[.vout[] | select(.scriptpubkey_address == $b and .value == 50000)] | length == 1' \
    "$TMP/tx1.json" >/dev/null || fail "tx1 does not pay 50000 sat to $B"
jq -e --arg a "$A" '[.vin[] | .prevout.scriptpubkey_address == $a] | all' "$TMP/tx1.json" >/dev/null \
    || fail "tx1 spends coins that are not the key's"
[ "$(btc_balance "$A")" = $((150000 - 50000 - FEE1)) ] || fail "sender: $(btc_balance "$A")"
[ "$(btc_balance "$B")" = $((39000 + 50000)) ] || fail "recipient: $(btc_balance "$B")"
# the peer really verifies: on a second peer with the same funding (same
# coins), tx1 with locktime 1 is refused for its taproot signature and the
# original is accepted
api "/tx/$TX1/hex" >"$TMP/tx1.hex"
sed 's/00000000$/01000000/' "$TMP/tx1.hex" >"$TMP/bad1.hex"
cmp -s "$TMP/bad1.hex" "$TMP/tx1.hex" && fail "could not tamper with tx1's locktime"
node "$BTC_DIR/esplora.mjs" --network regtest --fund "$A:150000" --fund "$A:40000" >"$TMP/btc2.out" 2>&1 &
PEER_PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$TMP/btc2.out" ] && break; sleep 0.05; done
URL2=$(jq -r .url "$TMP/btc2.out" 2>/dev/null)
[[ $URL2 == http://127.0.0.1:*/api ]] || fail "second esplora.mjs did not start: $(cat "$TMP/btc2.out")"
code=$(curl -sS -o "$TMP/post.out" -w '%{http_code}' -X POST --data-binary "@$TMP/bad1.hex" "$URL2/tx")
[ "$code" = 400 ] && grep -q 'mandatory-script-verify-flag-failed' "$TMP/post.out" \
    || fail "a tampered tx1 was not refused for its signature: $code $(cat "$TMP/post.out")"
[ "$(curl -sS -X POST --data-binary "@$TMP/tx1.hex" "$URL2/tx")" = "$TX1" ] || fail "tx1 replay refused"

step "too much: a 400 naming the shortfall; nothing broadcast"
POSTS=$(api /regtest/stats | jq .posts)
run 2 "$KG" mpc send --key "$TR" --chain bitcoin --network regtest --to "$B" --amount 1 --rpc "$BTC_URL"
grep -q 'insufficient funds' "$TMP/err" || fail "no shortfall: $(cat "$TMP/err")"
run 2 "$KG" mpc send --key "$TR" --chain bitcoin --network regtest --to "$S" --amount 0.001 --rpc "$BTC_URL"
[ "$(api /regtest/stats | jq .posts)" = "$POSTS" ] || fail "something was broadcast"

step "kill node 3: the 2-of-3 keys still sign (Solana transfer, bitcoin send)"
N3=$(pgrep -f -- "--data $DATA/mpc/node3" | head -1)
[ -n "$N3" ] || fail "node 3 is not running"
kill -KILL "$N3"
# gone: no such process, or a zombie the server has not reaped yet
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }
for _ in $(seq 1 50); do gone "$N3" && break; sleep 0.1; done
gone "$N3" || fail "node 3 is still alive"
FUND=2000000000
node "$IDIR/solana_node.mjs" --fund "$S=$FUND" >"$TMP/sol.out" 2>"$TMP/sol.err" &
PEER_PIDS+=($!)
for _ in $(seq 1 100); do grep -q listening "$TMP/sol.out" && break; sleep 0.1; done
SOL_RPC=$(sed -n 's/^listening on //p' "$TMP/sol.out")
[ -n "$SOL_RPC" ] || { cat "$TMP/sol.err" >&2; fail "the Solana node did not start"; }
[ "$(sol_balance "$S")" = "$FUND" ] || fail "Solana funding: $(sol_balance "$S")"
run 0 "$KG" mpc send --key "$ED" --chain solana --to "$S2" --amount 0.25 --rpc "$SOL_RPC" --json
jq -e --arg a "$S" --arg b "$S2" '.from == $a and .to == $b and .lamports == 250000000 and .status == "confirmed"' \
    "$TMP/out" >/dev/null || fail "transfer: $(cat "$TMP/out")"
SIG=$(jq -r .signature "$TMP/out")
curl -sS -X POST -H 'Content-Type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"getSignatureStatuses","params":[["'"$SIG"'"]]}' "$SOL_RPC" >"$TMP/st.json"
[ "$(jq -c '.result.value[0].err' "$TMP/st.json")" = null ] || fail "the runtime did not execute $SIG: $(cat "$TMP/st.json")"
run 0 "$KG" mpc send --key "$ED" --chain solana --to "$S2" --amount 1000lamports --rpc "$SOL_RPC"
[ "$(sol_balance "$S")" = $((FUND - 250000000 - 1000 - 2 * 5000)) ] || fail "Solana sender: $(sol_balance "$S")"
[ "$(sol_balance "$S2")" = $((250000000 + 1000)) ] || fail "Solana recipient: $(sol_balance "$S2")"
run 0 "$KG" mpc send --key "$TR" --chain bitcoin --network regtest --to "$B" --amount 20000sat --fee-rate 3 \
    --rpc "$BTC_URL" --json
TX2=$(jq -r .txid "$TMP/out")
FEE2=$(api "/tx/$TX2" | jq .fee)
[ "$(api "/tx/$TX2/status" | jq .confirmed)" = false ] || fail "tx2 is not in the peer's mempool"
[ "$(btc_balance "$A")" = $((150000 - 50000 - FEE1 - 20000 - FEE2)) ] || fail "sender after tx2: $(btc_balance "$A")"
[ "$(btc_balance "$B")" = $((39000 + 50000 + 20000)) ] || fail "recipient after tx2: $(btc_balance "$B")"
curl -sS -X POST "$BTC_URL/regtest/mine" >/dev/null
[ "$(api "/tx/$TX2/status" | jq .confirmed)" = true ] || fail "tx2 not confirmed after mining"

step "the audit log has the signing requests under the key ids"
run 0 "$KG" audit list --json
for k in "$TR" "$ED"; do grep -q "$k" "$TMP/out" || fail "no audit entry names $k"; done

echo "all passed"
