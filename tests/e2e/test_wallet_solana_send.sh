#!/usr/bin/env bash
# End to end: `kashguard wallet balance|send --chain solana` against a
# Solana JSON-RPC node backed by LiteSVM, the real Solana runtime as an npm
# native addon (tests/chain/interop/solana_node.mjs; no validator can be
# installed here). The runtime, not this test, verifies each transaction:
# the ed25519 signature, the blockhash, the fee and the System Program
# transfer.
#
#   - restore the fixed wallet ("abandon ... about"), fund its address at
#     the node's start; `balance` prints exactly the funding;
#   - send twice (--lamports, then --amount in SOL with --json): each prints
#     the Base58 signature, the node reports it executed without error, and
#     afterwards both balances are exact (amounts + 5000 lamports fee each);
#   - a send above the balance is refused by the node's preflight (exit 2,
#     the runtime's message) and changes nothing;
#   - bad flags (a non-Solana --to, --lamports with --amount, zero) exit 1
#     before anything is signed; an unreachable node exits 2;
#   - the peer is a real check: a transaction signed by `wallet sign-tx` with
#     one bit of its signature flipped is refused by the node.
# Skips (77) only when node/npm, the npm registry or LiteSVM's native
# binary is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
IDIR="$SRC/tests/chain/interop"
# shellcheck source=tests/chain/interop/setup.sh
. "$IDIR/setup.sh"
interop_setup "$IDIR"
(cd "$IDIR" && node -e 'require("litesvm")') >/dev/null 2>&1 || { echo "skip: litesvm does not load here" >&2; exit 77; }

NODE_PID=
stop_node() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null; NODE_PID=; }
trap 'stop_node; cleanup' EXIT

export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='solana e2e passphrase'
printf 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about\n' >"$TMP/m.txt"
printf 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong\n' >"$TMP/other.txt"
FUND=2000000000
FEE=5000

rpc() { curl -sS -X POST -H 'Content-Type: application/json' --data "$1" "$RPC"; }

step "restore the fixed wallet and a recipient wallet"
run 0 "$KG" wallet restore --name main --mnemonic-file "$TMP/m.txt"
run 0 "$KG" wallet restore --name other --mnemonic-file "$TMP/other.txt"
run 0 "$KG" wallet address --name main --chain solana
A=$(cat "$TMP/out")
run 0 "$KG" wallet address --name other --chain solana
B=$(cat "$TMP/out")
# m/44'/501'/0'/0' of "abandon ... about" (Phantom, solana-keygen)
[ "$A" = "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk" ] || fail "unexpected address $A"

step "start the LiteSVM node, funding $A with $FUND lamports"
node "$IDIR/solana_node.mjs" --fund "$A=$FUND" >"$TMP/node.out" 2>"$TMP/node.err" &
NODE_PID=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/node.out" && break; sleep 0.1; done
RPC=$(sed -n 's/^listening on //p' "$TMP/node.out")
[ -n "$RPC" ] || { cat "$TMP/node.err" >&2; fail "the node did not start"; }

step "balance equals the funding"
run 0 "$KG" wallet balance --name main --chain solana --rpc "$RPC"
[ "$(cat "$TMP/out")" = "$FUND" ] || fail "balance $(cat "$TMP/out") != $FUND"
run 0 "$KG" wallet balance --name other --chain solana --rpc "$RPC"
[ "$(cat "$TMP/out")" = "0" ] || fail "the recipient should start empty"

step "send 1000000 lamports"
run 0 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --lamports 1000000
SIG1=$(cat "$TMP/out")
[[ "$SIG1" =~ ^[1-9A-HJ-NP-Za-km-z]{86,88}$ ]] || fail "not a Base58 signature: $SIG1"
rpc '{"jsonrpc":"2.0","id":1,"method":"getSignatureStatuses","params":[["'"$SIG1"'"]]}' >"$TMP/st.json"
[ "$(jq -c '.result.value[0].err' "$TMP/st.json")" = "null" ] || fail "the node did not execute $SIG1: $(cat "$TMP/st.json")"

step "send 0.25 SOL with --json (a new blockhash, a second transaction)"
run 0 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --amount 0.25 --json
jq -e --arg a "$A" --arg b "$B" '.from == $a and .to == $b and .lamports == 250000000 and .status == "confirmed"' \
    "$TMP/out" >/dev/null || fail "unexpected JSON: $(cat "$TMP/out")"
SIG2=$(jq -r .signature "$TMP/out")
[ "$SIG2" != "$SIG1" ] || fail "the second transfer has the first one's signature"

step "balances are exact: amounts + $FEE lamports fee per transfer"
WANT_A=$((FUND - 1000000 - 250000000 - 2 * FEE))
run 0 "$KG" wallet balance --name main --chain solana --rpc "$RPC"
[ "$(cat "$TMP/out")" = "$WANT_A" ] || fail "sender has $(cat "$TMP/out"), expected $WANT_A"
run 0 "$KG" wallet balance --name other --chain solana --rpc "$RPC" --json
[ "$(jq -r .balance "$TMP/out")" = "251000000" ] || fail "recipient: $(cat "$TMP/out")"
[ "$(jq -r .unit "$TMP/out")" = "lamports" ] || fail "unit: $(cat "$TMP/out")"

step "a send above the balance: refused by the node's preflight, nothing changes"
run 2 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --amount 100
grep -q 'Transaction simulation failed' "$TMP/err" || fail "no node message: $(cat "$TMP/err")"
grep -q -- '-32002' "$TMP/err" || fail "no node error code: $(cat "$TMP/err")"
run 0 "$KG" wallet balance --name main --chain solana --rpc "$RPC"
[ "$(cat "$TMP/out")" = "$WANT_A" ] || fail "the refused send changed the balance: $(cat "$TMP/out")"

step "bad flags exit 1 before anything is signed"
run 1 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu --lamports 5
grep -q 'not a Solana address' "$TMP/err" || fail "$(cat "$TMP/err")"
run 1 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --lamports 5 --amount 1
run 1 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --lamports 0
run 1 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --amount 0.0000000001
run 1 "$KG" wallet balance --name main --chain solana --rpc "$RPC" --denom uatom
run 1 "$KG" wallet send --name main --chain solana --rpc "ftp://x" --to "$B" --lamports 5
KASHGUARD_WALLET_PASSPHRASE=wrong run 1 "$KG" wallet send --name main --chain solana --rpc "$RPC" --to "$B" --lamports 5
run 0 "$KG" wallet balance --name main --chain solana --rpc "$RPC"
[ "$(cat "$TMP/out")" = "$WANT_A" ] || fail "a refused command changed the balance"

step "an unreachable node exits 2"
run 2 "$KG" wallet balance --name main --chain solana --rpc http://127.0.0.1:1/
run 2 "$KG" wallet send --name main --chain solana --rpc http://127.0.0.1:1/ --to "$B" --lamports 1000000

step "the node verifies signatures: one flipped bit is refused"
rpc '{"jsonrpc":"2.0","id":1,"method":"getLatestBlockhash","params":[]}' >"$TMP/bh.json"
BH=$(jq -r .result.value.blockhash "$TMP/bh.json")
run 0 "$KG" wallet sign-tx --name main --chain solana --to "$B" --lamports 1000000 --recent-blockhash "$BH"
BAD=$(node -e 'const b = Buffer.from(process.argv[1], "base64"); b[10] ^= 1; console.log(b.toString("base64"))' \
    "$(cat "$TMP/out")")
rpc '{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["'"$BAD"'",{"encoding":"base64"}]}' >"$TMP/bad.json"
[ "$(jq -r .error.code "$TMP/bad.json")" = "-32003" ] || fail "a forged signature was not refused: $(cat "$TMP/bad.json")"
rpc '{"jsonrpc":"2.0","id":1,"method":"sendTransaction","params":["'"$(cat "$TMP/out")"'",{"encoding":"base64"}]}' >"$TMP/good.json"
jq -e '.result | type == "string"' "$TMP/good.json" >/dev/null || fail "the intact transaction was refused: $(cat "$TMP/good.json")"

echo "PASS: wallet send --chain solana (LiteSVM)"
