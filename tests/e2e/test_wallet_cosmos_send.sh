#!/usr/bin/env bash
# End to end: `kashguard wallet balance|send --chain cosmos` against a
# Cosmos SDK REST (LCD) node, tests/chain/interop/cosmos_node.mjs: a small
# ledger that checks each broadcast TxRaw with cosmjs (decodeTxRaw, the
# SignDoc rebuilt with makeSignBytes, the secp256k1 signature verified by
# @cosmjs/crypto, sequence, chain id, funds) and answers with the SDK's
# codes. No real Cosmos daemon can be installed here.
#
#   - restore the fixed wallet ("abandon ... about"), fund its address at
#     the node's start; `balance --denom` prints exactly the funding;
#   - send twice (the second with --json, a memo, a fee in another denom
#     and a gas limit): each prints the upper-case tx hash the node stored,
#     the sequence advances 0 -> 1 -> 2, and afterwards every balance is
#     exact (amounts + fees);
#   - a send above the balance (or a fee above the fee denom's balance) is
#     caught before signing (exit 1) and changes nothing;
#   - --to under another prefix (osmo1... with --hrp cosmos) exits 1; a
#     --chain-id the node does not have is refused by the node's signature
#     check (exit 2, code 4, its raw_log) and changes nothing; a wallet with
#     no account on chain and an unreachable node exit 2;
#   - the peer is a real check: a `wallet sign-tx` TxRaw with a stale
#     sequence gets code 32, with one flipped signature bit code 4, and the
#     intact one is accepted.
# Skips (77) only when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
IDIR="$SRC/tests/chain/interop"
# shellcheck source=tests/chain/interop/setup.sh
. "$IDIR/setup.sh"
interop_setup "$IDIR"

NODE_PID=
stop_node() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null; NODE_PID=; }
trap 'stop_node; cleanup' EXIT

export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='cosmos e2e passphrase'
printf 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about\n' >"$TMP/m.txt"
printf 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong\n' >"$TMP/other.txt"
CHAIN=kg-e2e-1

lcd() { curl -sS "$RPC$1"; }
bal() { lcd "/cosmos/bank/v1beta1/balances/$1/by_denom?denom=$2" | jq -r .balance.amount; }
seq_of() { lcd "/cosmos/auth/v1beta1/accounts/$1" | jq -r .account.sequence; }
post_tx() { curl -sS -X POST -H 'Content-Type: application/json' \
    --data "{\"tx_bytes\":\"$1\",\"mode\":\"BROADCAST_MODE_SYNC\"}" "$RPC/cosmos/tx/v1beta1/txs"; }
S=(wallet send --name main --chain cosmos)

step "restore the fixed wallet and a recipient wallet"
run 0 "$KG" wallet restore --name main --mnemonic-file "$TMP/m.txt"
run 0 "$KG" wallet restore --name other --mnemonic-file "$TMP/other.txt"
run 0 "$KG" wallet address --name main --chain cosmos
A=$(cat "$TMP/out")
run 0 "$KG" wallet address --name other --chain cosmos
B=$(cat "$TMP/out")
run 0 "$KG" wallet address --name other --chain cosmos --hrp osmo
B_OSMO=$(cat "$TMP/out")
# m/44'/118'/0'/0/0 of "abandon ... about" (cosmjs's test wallet)
[ "$A" = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4" ] || fail "unexpected address $A"

step "start the node ($CHAIN), funding $A with 1000000uatom and 5000ustake"
node "$IDIR/cosmos_node.mjs" --chain-id "$CHAIN" --fund "$A=1000000uatom,5000ustake" \
    >"$TMP/node.out" 2>"$TMP/node.err" &
NODE_PID=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
RPC=$(sed -n 's/^listening on //p' "$TMP/node.out")
[ -n "$RPC" ] || { cat "$TMP/node.err" >&2; fail "the node did not start"; }
S+=(--rpc "$RPC")

step "balance equals the funding"
run 0 "$KG" wallet balance --name main --chain cosmos --rpc "$RPC" --denom uatom
[ "$(cat "$TMP/out")" = "1000000" ] || fail "balance $(cat "$TMP/out")"
run 0 "$KG" wallet balance --name main --chain cosmos --rpc "$RPC" --denom ustake --json
jq -e --arg a "$A" '.balance == "5000" and .address == $a and .unit == "ustake"' "$TMP/out" >/dev/null ||
    fail "unexpected JSON: $(cat "$TMP/out")"
run 0 "$KG" wallet balance --name other --chain cosmos --rpc "$RPC" --denom uatom
[ "$(cat "$TMP/out")" = "0" ] || fail "the recipient should start empty"

step "send 100000uatom with a 500uatom fee (sequence 0)"
run 0 "$KG" "${S[@]}" --to "$B" --amount 100000 --denom uatom --fee 500
H1=$(cat "$TMP/out")
[[ "$H1" =~ ^[0-9A-F]{64}$ ]] || fail "not an upper-case tx hash: $H1"
[ "$(lcd "/cosmos/tx/v1beta1/txs/$H1" | jq -r .tx_response.code)" = "0" ] || fail "the node has no tx $H1"
[ "$(seq_of "$A")" = "1" ] || fail "sequence $(seq_of "$A") after one send"

step "send 250000uatom with --json, a memo, a 700ustake fee, gas 150000 (sequence 1)"
run 0 "$KG" "${S[@]}" --to "$B" --amount 250000 --denom uatom --fee 700 --fee-denom ustake --gas 150000 \
    --memo "kashguard e2e" --json
jq -e --arg a "$A" --arg b "$B" --arg c "$CHAIN" '.from == $a and .to == $b and .chain_id == $c and
    .sequence == 1 and .account_number == 0 and .status == "success" and .height > 0 and .amount == "250000"' \
    "$TMP/out" >/dev/null || fail "unexpected JSON: $(cat "$TMP/out")"
H2=$(jq -r .tx_hash "$TMP/out")
[ "$(lcd "/cosmos/tx/v1beta1/txs/$H2" | jq -r .tx_response.gas_wanted)" = "150000" ] || fail "gas limit not 150000"
[ "$(seq_of "$A")" = "2" ] || fail "sequence $(seq_of "$A") after two sends"

step "balances are exact: amounts + fees"
check_balances() {
    run 0 "$KG" wallet balance --name main --chain cosmos --rpc "$RPC" --denom uatom
    [ "$(cat "$TMP/out")" = "$((1000000 - 100000 - 500 - 250000))" ] || fail "sender uatom $(cat "$TMP/out")"
    run 0 "$KG" wallet balance --name main --chain cosmos --rpc "$RPC" --denom ustake
    [ "$(cat "$TMP/out")" = "$((5000 - 700))" ] || fail "sender ustake $(cat "$TMP/out")"
    run 0 "$KG" wallet balance --name other --chain cosmos --rpc "$RPC" --denom uatom
    [ "$(cat "$TMP/out")" = "350000" ] || fail "recipient uatom $(cat "$TMP/out")"
    [ "$(seq_of "$A")" = "2" ] || fail "the sequence moved to $(seq_of "$A")"
}
check_balances

step "a send above the balance is caught before signing; nothing changes"
run 1 "$KG" "${S[@]}" --to "$B" --amount 649001 --denom uatom --fee 500
grep -q 'insufficient funds: .* holds 649500 uatom, the transfer needs 649001 + fee 500' "$TMP/err" ||
    fail "$(cat "$TMP/err")"
run 1 "$KG" "${S[@]}" --to "$B" --amount 1 --denom uatom --fee 4301 --fee-denom ustake
grep -q 'insufficient funds for the fee' "$TMP/err" || fail "$(cat "$TMP/err")"
check_balances

step "bad input exits 1: another prefix, bad amounts, missing --denom"
run 1 "$KG" "${S[@]}" --to "$B_OSMO" --amount 1 --denom uatom --hrp cosmos
grep -q "is not a 'cosmos' address" "$TMP/err" || fail "$(cat "$TMP/err")"
run 1 "$KG" "${S[@]}" --to "$B" --amount 1.5 --denom uatom
run 1 "$KG" "${S[@]}" --to "$B" --amount 0 --denom uatom
run 1 "$KG" "${S[@]}" --to "$B" --amount 10
run 1 "$KG" wallet balance --name main --chain cosmos --rpc "$RPC"
KASHGUARD_WALLET_PASSPHRASE=wrong run 1 "$KG" "${S[@]}" --to "$B" --amount 1 --denom uatom
check_balances

step "a chain id the node does not have: its signature check refuses (exit 2, code 4)"
run 2 "$KG" "${S[@]}" --to "$B" --amount 1 --denom uatom --chain-id other-chain-7
grep -q 'refused the transaction: code 4 (sdk): signature verification failed.*unauthorized' "$TMP/err" ||
    fail "$(cat "$TMP/err")"
check_balances

step "a wallet with no account on chain, an unreachable node: exit 2"
run 2 "$KG" "${S[@]}" --index 1 --to "$B" --amount 1 --denom uatom
grep -q 'the chain has no account cosmos1.* yet' "$TMP/err" || fail "$(cat "$TMP/err")"
run 2 "$KG" wallet balance --name main --chain cosmos --rpc http://127.0.0.1:1 --denom uatom
run 2 "$KG" wallet send --name main --chain cosmos --rpc http://127.0.0.1:1 --to "$B" --amount 1 --denom uatom

step "the node checks what it is sent: stale sequence 32, forged signature 4, intact accepted"
SIGN=(wallet sign-tx --name main --chain cosmos --to "$B" --amount 1000 --denom uatom --chain-id "$CHAIN"
      --account-number 0)
run 0 "$KG" "${SIGN[@]}" --sequence 1
[ "$(post_tx "$(cat "$TMP/out")" | jq -r .tx_response.code)" = "32" ] || fail "a stale sequence was accepted"
run 0 "$KG" "${SIGN[@]}" --sequence 2
GOOD=$(cat "$TMP/out")
BAD=$(node -e 'const b = Buffer.from(process.argv[1], "base64"); b[b.length - 1] ^= 1; console.log(b.toString("base64"))' "$GOOD")
post_tx "$BAD" >"$TMP/bad.json"
[ "$(jq -r .tx_response.code "$TMP/bad.json")" = "4" ] || fail "a forged signature was accepted: $(cat "$TMP/bad.json")"
post_tx "$GOOD" >"$TMP/good.json"
[ "$(jq -r .tx_response.code "$TMP/good.json")" = "0" ] || fail "the intact tx was refused: $(cat "$TMP/good.json")"
[ "$(bal "$B" uatom)" = "351000" ] || fail "recipient $(bal "$B" uatom) after the intact tx"

echo "PASS: wallet send --chain cosmos (cosmjs-checked LCD node)"
