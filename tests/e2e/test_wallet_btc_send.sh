#!/usr/bin/env bash
# `kashguard wallet balance|send --chain btc` against an Esplora-compatible
# regtest node. No real Bitcoin node can be installed here, so the peer is
# tests/btc/esplora.mjs: the Esplora REST API over a UTXO set, with mempool
# acceptance done by code we did not write (@scure/btc-signer parses the tx
# and computes the BIP143/BIP341/legacy sighashes, @noble/curves verifies
# ECDSA and BIP340 signatures; inputs must be unspent, fee >= min relay).
#
#   - restore the fixed wallet ("abandon ... about", as test_wallet_btc.sh);
#     the node funds our p2wpkh receive addresses 0 and 5 (a gap the scan
#     must cross) and our p2tr receive address 0;
#   - `wallet balance` per --type and for p2wpkh,p2tr equals the funding;
#   - `wallet send` 0.001 BTC to a foreign regtest address prints the txid;
#     the node accepted it (GET /tx/:txid/status), it pays the foreign
#     address, its change goes to our first change address m/84'/1'/0'/1/0,
#     it signals RBF; balance afterwards = before - amount - fee;
#   - a second send spends that change (a chained mempool spend); a third
#     mixes p2wpkh and p2tr inputs (taproot key-path signing, --no-rbf,
#     --fee-rate); mining confirms them all;
#   - too large an amount: exit 1 naming the shortfall, nothing broadcast;
#     an address of another network: exit 1; a node that refuses (min relay
#     fee) or cannot be reached: exit 2 with its text.
# Skips (77) only when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
BTC_DIR="$SRC/tests/btc"

PASSED=0
NODE_PIDS=()
fail() {
    echo "FAIL (step $STEP): $*" >&2
    [ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}
ok() { PASSED=$((PASSED + 1)); }
out() { cat "$TMP/out"; }
stop_nodes() { for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
trap 'stop_nodes; [ -n "${KEEP_TMP:-}" ] || cleanup' EXIT

. "$BTC_DIR/lib.sh"

# start_node NAME ARGS...: esplora.mjs in the background; sets URL to its API root.
start_node() {
    local name=$1 i
    shift
    node "$BTC_DIR/esplora.mjs" --network regtest "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    NODE_PIDS+=($!)
    for i in $(seq 1 200); do
        [ -s "$TMP/$name.out" ] && break
        kill -0 "${NODE_PIDS[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    URL=$(jq -r .url "$TMP/$name.out" 2>/dev/null)
    [[ $URL == http://127.0.0.1:*/api ]] || { cat "$TMP/$name.err" >&2; fail "esplora.mjs did not start"; }
}
api() { curl -sS --max-time 10 "$URL$1"; }
bal() { # bal [ARGS...]: the wallet balance in sat (exit 0 asserted)
    run 0 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "$URL" "$@"
    out
}

btc_setup
export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='btc send passphrase'
printf 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about\n' >"$TMP/m.txt"
printf 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong\n' >"$TMP/other.txt"

step "restore the fixed wallet; fund p2wpkh /0/0, /0/5 and p2tr /0/0 on the regtest node"
run 0 "$KG" wallet restore --name sat --mnemonic-file "$TMP/m.txt"
run 0 "$KG" wallet restore --name other --mnemonic-file "$TMP/other.txt"
addr() { run 0 "$KG" wallet address --network regtest --chain btc "$@"; out; }
W0=$(addr --name sat --index 0)
W5=$(addr --name sat --index 5)
T0=$(addr --name sat --type p2tr --index 0)
CHANGE0=$(addr --name sat --path "m/84'/1'/0'/1/0")
CHANGE1=$(addr --name sat --path "m/84'/1'/0'/1/1")
FOREIGN=$(addr --name other)
[[ $W0 == bcrt1q* && $T0 == bcrt1p* ]] || fail "unexpected regtest addresses $W0 $T0"
start_node node --fund "$W0:150000" --fund "$W5:25000" --fund "$T0:70000"
[ "$(api /regtest/stats | jq .posts)" = 0 ] || fail "fresh node has posts"
ok

step "balance equals the funding (per type, both types, all)"
[ "$(bal)" = 175000 ] || fail "p2wpkh balance $(out), want 175000 (150000 at /0/0 + 25000 at /0/5)"
[ "$(bal --type p2tr)" = 70000 ] || fail "p2tr balance $(out), want 70000"
[ "$(bal --type p2wpkh,p2tr)" = 245000 ] || fail "p2wpkh,p2tr balance $(out), want 245000"
[ "$(bal --type all)" = 245000 ] || fail "all-types balance $(out), want 245000"
run 0 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "$URL" --json
[ "$(jq -r '.balance, .confirmed, .unconfirmed, .unit, .addresses_used' "$TMP/out" | tr '\n' ' ')" = "175000 175000 0 sat 2 " ] \
    || fail "balance --json: $(out)"
[ "$(bal --type p2pkh)" = 0 ] || fail "p2pkh balance $(out), want 0"
ok

step "send 0.001 BTC to a foreign address: txid; the node accepted it; change to m/84'/1'/0'/1/0; RBF"
run 0 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount 0.001
TX1=$(out)
[[ $TX1 =~ ^[0-9a-f]{64}$ ]] || fail "send printed '$TX1', not a txid"
[ "$(api "/tx/$TX1/status" | jq -c .)" = '{"confirmed":false}' ] || fail "the node does not have $TX1 in its mempool"
api "/tx/$TX1" >"$TMP/tx1.json"
FEE1=$(jq .fee "$TMP/tx1.json")
jq -e --arg to "$FOREIGN" '[.vout[] | select(.scriptpubkey_address == $to and .value == 100000)] | length == 1' \
    "$TMP/tx1.json" >/dev/null || fail "tx1 does not pay 100000 sat to $FOREIGN: $(cat "$TMP/tx1.json")"
jq -e --arg c "$CHANGE0" '[.vout[] | select(.scriptpubkey_address == $c)] | length == 1' "$TMP/tx1.json" >/dev/null \
    || fail "tx1 has no change to our first change address $CHANGE0"
jq -e '[.vin[] | .sequence == 4294967293] | all' "$TMP/tx1.json" >/dev/null || fail "tx1 does not signal RBF"
[ "$FEE1" -ge "$(jq '(.weight / 4) * 2 | floor' "$TMP/tx1.json")" ] || fail "fee $FEE1 is below 2 sat/vB (/fee-estimates target 6)"
echo "   tx1 $TX1: fee $FEE1 sat, $(jq '.vin | length' "$TMP/tx1.json") input(s)"
ok

step "balance afterwards = before - amount - fee"
[ "$(bal)" = $((175000 - 100000 - FEE1)) ] || fail "balance $(out), want $((175000 - 100000 - FEE1))"
[ "$(bal --type p2wpkh,p2tr)" = $((245000 - 100000 - FEE1)) ] || fail "both types: $(out)"
ok

step "a second send spends the change (chained mempool spend)"
CH=$(jq --arg c "$CHANGE0" '.vout[] | select(.scriptpubkey_address == $c) | .value' "$TMP/tx1.json")
# more than any one p2wpkh coin: needs the mempool change and /0/5
AMT2=$((CH + 1000))
run 0 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount "${AMT2}sat" --json
TX2=$(jq -r .txid "$TMP/out")
api "/tx/$TX2" >"$TMP/tx2.json"
jq -e --arg t "$TX1" '[.vin[] | select(.txid == $t)] | length == 1' "$TMP/tx2.json" >/dev/null \
    || fail "tx2 does not spend tx1's change: $(cat "$TMP/tx2.json")"
[ "$(jq .fee "$TMP/tx2.json")" = "$(jq .fee "$TMP/out")" ] || fail "send --json fee differs from the node's"
CHG2=$(jq -r '.change_address // empty' "$TMP/out")
[ -z "$CHG2" ] || [ "$CHG2" = "$CHANGE1" ] || fail "tx2 change went to $CHG2, want the next unused $CHANGE1"
FEE2=$(jq .fee "$TMP/tx2.json")
[ "$(bal)" = $((175000 - 100000 - FEE1 - AMT2 - FEE2)) ] || fail "balance after tx2 $(out)"
ok

step "a third send mixes p2wpkh and p2tr inputs (taproot key path), --fee-rate 5 --no-rbf"
LEFT=$(bal --type p2wpkh,p2tr)
AMT3=75000 # more than the largest coin (p2tr, 70000): needs it and the p2wpkh change
[ "$LEFT" -gt 80000 ] || fail "only $LEFT sat left for the third send"
run 0 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --type p2wpkh,p2tr \
    --to "$FOREIGN" --amount "${AMT3}sat" --fee-rate 5 --no-rbf --json
TX3=$(jq -r .txid "$TMP/out")
api "/tx/$TX3" >"$TMP/tx3.json"
jq -e --arg a "$T0" '[.vin[] | select(.prevout.scriptpubkey_address == $a)] | length == 1' "$TMP/tx3.json" >/dev/null \
    || fail "tx3 does not spend the p2tr coin: $(cat "$TMP/tx3.json")"
jq -e '[.vin[] | .prevout.scriptpubkey_address | startswith("bcrt1q")] | any' "$TMP/tx3.json" >/dev/null \
    || fail "tx3 has no p2wpkh input"
jq -e '[.vin[] | .sequence != 4294967293] | all' "$TMP/tx3.json" >/dev/null || fail "--no-rbf still signals RBF"
[ "$(jq .fee "$TMP/tx3.json")" -ge "$(jq '(.weight / 4) * 5 | floor' "$TMP/tx3.json")" ] || fail "tx3 fee under 5 sat/vB"
FEE3=$(jq .fee "$TMP/tx3.json")
[ "$(bal --type p2wpkh,p2tr)" = $((LEFT - AMT3 - FEE3)) ] || fail "balance after tx3 $(out), want $((LEFT - AMT3 - FEE3))"
echo "   tx3 $TX3: $(jq '.vin | length' "$TMP/tx3.json") inputs (p2wpkh + p2tr), fee $FEE3 sat"
ok

step "mining confirms all three; the balance is then all confirmed"
[ "$(api /mempool | jq .count)" = 3 ] || fail "mempool has $(api /mempool | jq .count) txs, want 3"
curl -sS -X POST "$URL/regtest/mine" >/dev/null
for t in "$TX1" "$TX2" "$TX3"; do
    [ "$(api "/tx/$t/status" | jq .confirmed)" = true ] || fail "$t not confirmed after mining"
done
run 0 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "$URL" --type all --json
[ "$(jq .unconfirmed "$TMP/out")" = 0 ] && [ "$(jq -r .balance "$TMP/out")" = "$(jq .confirmed "$TMP/out")" ] \
    || fail "after mining: $(out)"
ok

step "the node really verifies: tampered copies are refused, the originals replay on a fresh node"
# The funding transactions depend only on the --fund arguments, so a second
# node started with the same ones holds the same UTXOs.
for t in "$TX1" "$TX2" "$TX3"; do api "/tx/$t/hex" >"$TMP/$t.hex"; done
URL1=$URL
start_node replay --fund "$W0:150000" --fund "$W5:25000" --fund "$T0:70000"
post() { curl -sS --max-time 10 -o "$TMP/post.out" -w '%{http_code}' -X POST --data-binary "@$1" "$URL/tx"; }
# tx1 paying 1 sat less to the foreign address: every signature covers the outputs
sed 's/a086010000000000160014/9f86010000000000160014/' "$TMP/$TX1.hex" >"$TMP/bad1.hex"
cmp -s "$TMP/bad1.hex" "$TMP/$TX1.hex" && fail "could not find tx1's 100000-sat output to tamper with"
[ "$(post "$TMP/bad1.hex")" = 400 ] && grep -q 'mandatory-script-verify-flag-failed' "$TMP/post.out" \
    || fail "a tampered tx1 was not refused for its signature: $(cat "$TMP/post.out")"
[ "$(post "$TMP/$TX1.hex")" = 200 ] && [ "$(cat "$TMP/post.out")" = "$TX1" ] || fail "tx1 replay: $(cat "$TMP/post.out")"
[ "$(post "$TMP/$TX2.hex")" = 200 ] || fail "tx2 replay: $(cat "$TMP/post.out")"
# tx3 (p2wpkh + p2tr inputs) with locktime 1 instead of 0: every sighash changes
sed 's/00000000$/01000000/' "$TMP/$TX3.hex" >"$TMP/bad3.hex"
[ "$(post "$TMP/bad3.hex")" = 400 ] && grep -q 'mandatory-script-verify-flag-failed' "$TMP/post.out" \
    || fail "a tampered tx3 was not refused for its signature: $(cat "$TMP/post.out")"
[ "$(post "$TMP/$TX3.hex")" = 200 ] || fail "tx3 replay: $(cat "$TMP/post.out")"
[ "$(post "$TMP/$TX1.hex")" = 400 ] && grep -q 'txn-already-in-mempool' "$TMP/post.out" || fail "tx1 twice: $(cat "$TMP/post.out")"
[ "$(api /regtest/stats | jq -c '[.accepted, .rejected]')" = '[3,3]' ] || fail "replay node stats $(api /regtest/stats)"
URL=$URL1
ok

step "too large an amount: exit 1 naming the shortfall; nothing broadcast"
POSTS=$(api /regtest/stats | jq .posts)
run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --type all --to "$FOREIGN" --amount 1
grep -q '^Error: insufficient funds: .*short by [0-9]* sat' "$TMP/err" || fail "no shortfall message"
sed 's/^/   /' "$TMP/err"
[ "$(api /regtest/stats | jq .posts)" = "$POSTS" ] || fail "something was broadcast"
ok

step "an address of another network, bad amounts and flags: exit 1, nothing broadcast"
TESTNET=$("$KG" wallet address --name other --chain btc --network testnet)
run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$TESTNET" --amount 0.001
grep -q 'address is for testnet, expected regtest' "$TMP/err" || fail "wrong-network message: $(cat "$TMP/err")"
MAINNET=$("$KG" wallet address --name other --chain btc)
run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$MAINNET" --amount 0.001
grep -q 'address is for mainnet, expected regtest' "$TMP/err" || fail "mainnet address: $(cat "$TMP/err")"
for a in 0 -1 1.123456789 abc 100sat; do
    run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount "$a"
    grep -q '^Error: --amount' "$TMP/err" || fail "--amount $a: $(cat "$TMP/err")"
done
run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount 0.001 --fee-rate 0.5
run 1 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount 0.001 --nonce 3
run 1 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "$URL" --type p2xx
run 1 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "$URL" --index 2
[ "$(api /regtest/stats | jq .posts)" = "$POSTS" ] || fail "something was broadcast"
ok

step "a node that refuses (min relay fee) or cannot be reached: exit 2 with its text"
start_node strict --min-relay 1000 --fund "$W0:150000"
run 2 "$KG" wallet send --name sat --chain btc --network regtest --rpc "$URL" --to "$FOREIGN" --amount 0.001
grep -q '^Error: broadcast failed: the node refused the transaction: .*min relay fee not met' "$TMP/err" \
    || fail "refusal message: $(cat "$TMP/err")"
sed 's/^/   /' "$TMP/err"
run 2 "$KG" wallet balance --name sat --chain btc --network regtest --rpc "http://127.0.0.1:1/api"
grep -q 'cannot reach the Esplora API' "$TMP/err" || fail "unreachable node: $(cat "$TMP/err")"
ok

echo "$PASSED passed, 0 failed"
