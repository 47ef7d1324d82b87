#!/usr/bin/env bash
# End to end: the self-custody wallet signing with a 2-of-3 threshold ECDSA
# (CGGMP21) MPC key (`kashguard wallet ... --mpc-key KEY --ca-dir DIR`,
# docs/wallet.md "Signing with an MPC key"). Three real `kashguard mpc-node`
# processes on 127.0.0.1 enrolled with a CA dir (2048-bit Paillier, prime
# pools pre-filled with distinct lines of tests/mpc/fixtures/
# safe_primes_1024.txt, so no prime is generated during the test).
#
#   - `mpc keygen --scheme cggmp21-secp256k1 --ca-dir` 2-of-3;
#   - `wallet address --chain eth --mpc-key` (m/0/0, and --index 3 = m/0/3)
#     equals what ethers computes from the BIP32 child that @scure/bip32
#     derives from the key's public key and chain code (code we did not write);
#   - the hardhat node (EDR) funds it; `wallet send --chain eth --mpc-key`
#     (EIP-1559) is mined from that address; balances are exact (gas from the
#     receipt); `wallet sign-message` verifies with ethers.verifyMessage;
#   - btc: tests/btc/esplora.mjs (scure's BIP143 sighash, noble's ECDSA) funds
#     the P2WPKH address of m/0/0 (scure's); `wallet send --chain btc
#     --mpc-key` pays a foreign address with change to m/1/0; balance exact;
#   - node 3 killed: a legacy (--tx-type 0) send from nodes 1 and 2 is mined;
#   - cosmos: tests/chain/interop/cosmos_node.mjs (cosmjs checks every
#     signature) funds the MPC key's cosmos address (computed by cosmjs from
#     the child key); `wallet send --chain cosmos --mpc-key` is accepted and
#     the balances are exact;
#   - through the server (no --ca-dir): a `server --dev --mpc-nodes 3` key's
#     address (--index 1 = m/0/1) is ethers' and a send is mined, exact;
#   - refused before anything is signed or sent (exit 1, clear message, the
#     nonce and balance unchanged): a hardened --path, --index >= 2^31, a
#     cggmp21-p256 key, --chain solana, --type p2tr, --name with --mpc-key.
# Skips (77) when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/e2e/mpc_lib.sh
. "$SRC/tests/e2e/mpc_lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
BTC_DIR="$SRC/tests/btc"
EVM_DIR_SRC="$SRC/tests/evm"
IDIR="$SRC/tests/chain/interop"
# shellcheck source=tests/btc/lib.sh
. "$BTC_DIR/lib.sh"
btc_setup
# shellcheck source=tests/evm/lib.sh
. "$EVM_DIR_SRC/lib.sh"
evm_setup
# shellcheck source=tests/chain/interop/setup.sh
. "$IDIR/setup.sh"
interop_setup "$IDIR"

COSMOS_PID= BTC_PID=
stop_cosmos() { [ -n "$BTC_PID" ] && kill "$BTC_PID" 2>/dev/null; [ -n "$COSMOS_PID" ] && kill "$COSMOS_PID" 2>/dev/null && wait "$COSMOS_PID" 2>/dev/null; COSMOS_PID=; }
trap 'stop_cosmos; mpc_cleanup' EXIT

export KG_MPC_PAILLIER_BITS=2048
PRIMES=$SRC/tests/mpc/fixtures/safe_primes_1024.txt
# Node i's pool: 4 shared pad lines (the pool's target; never taken), then
# 8 lines of its own (each key's aux info takes two).
mpc_before_start() {
    [ -s "$TMP/node$1/cggmp-primes.txt" ] && return 0
    mkdir -p "$TMP/node$1"
    { sed -n '33,36p' "$PRIMES"; sed -n "$((1 + ($1 - 1) * 8)),$(($1 * 8))p" "$PRIMES"; } >"$TMP/node$1/cggmp-primes.txt"
}

bal() { evm_rpc eth_getBalance "[\"$1\",\"latest\"]" | tr -d '"'; }
nonce() { evm_rpc eth_getTransactionCount "[\"$1\",\"latest\"]" | tr -d '"'; }
# child_pub PUB_B64 CC_B64 PATH: the BIP32 child's compressed key (hex) by @scure/bip32
child_pub() {
    (cd "$BTC_DIR" && node --input-type=module -e '
        import { HDKey } from "@scure/bip32";
        const [pub, cc, path] = process.argv.slice(1);
        const k = new HDKey({ publicKey: Buffer.from(pub, "base64"), chainCode: Buffer.from(cc, "base64") });
        console.log(Buffer.from(k.derive(path).publicKey).toString("hex"));' "$@") || fail "@scure/bip32 failed"
}
eth_addr() { (cd "$EVM_DIR_SRC" && node -e 'console.log(require("ethers").computeAddress("0x" + process.argv[1]))' "$1"); }

step "ca-init, three nodes, a 2-of-3 cggmp21-secp256k1 key (mpc keygen --ca-dir)"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do mpc_start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme cggmp21-secp256k1 --json
KID=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out")
CC=$(jq -r .chain_code "$D/keys/$KID.json")
[ "$(printf '%s' "$CC" | base64 -d | wc -c)" -eq 32 ] || fail "no 32-byte chain code in the key record"
M=(--mpc-key "$KID" --ca-dir "$D")

step "wallet address --chain eth --mpc-key: ethers' address of the @scure/bip32 child m/0/0 (and --index 3)"
run 0 "$KG" wallet address --chain eth "${M[@]}" --json
EA=$(jq -r .address "$TMP/out")
[ "$(jq -r .path "$TMP/out")" = "m/0/0" ] || fail "path: $(cat "$TMP/out")"
C0=$(child_pub "$PUB" "$CC" m/0/0)
[ "$EA" = "$(eth_addr "$C0")" ] || fail "address $EA, ethers says $(eth_addr "$C0")"
run 0 "$KG" wallet address --chain eth "${M[@]}" --index 3
[ "$(cat "$TMP/out")" = "$(eth_addr "$(child_pub "$PUB" "$CC" m/0/3)")" ] || fail "--index 3: $(cat "$TMP/out")"
[ "$(cat "$TMP/out")" != "$EA" ] || fail "--index 3 gave the address of index 0"

step "the hardhat node funds it with 1 ETH; wallet balance --mpc-key sees it"
evm_start
evm_rpc eth_sendTransaction "[{\"from\":\"$EVM_ADDR0\",\"to\":\"$EA\",\"value\":\"0xde0b6b3a7640000\"}]" >/dev/null \
    || fail "funding failed"
run 0 "$KG" wallet balance --chain eth "${M[@]}" --rpc "$EVM_RPC"
[ "$(cat "$TMP/out")" = 1000000000000000000 ] || fail "balance $(cat "$TMP/out")"

# exact SENDER_BEFORE RECIPIENT_BEFORE AMOUNT_WEI HASH: both balances exact after the tx
exact() {
    evm_rpc eth_getTransactionReceipt "[\"$4\"]" >"$TMP/rc.json"
    node -e '
        const [sb, rb, amt, rcpt, sn, rn] = process.argv.slice(1);
        const r = JSON.parse(rcpt);
        if (r.status !== "0x1") { console.error("not successful: " + rcpt); process.exit(1); }
        const gas = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice);
        if (BigInt(sn) !== BigInt(sb) - BigInt(amt) - gas) { console.error(`sender ${BigInt(sn)}`); process.exit(1); }
        if (BigInt(rn) - BigInt(rb) !== BigInt(amt)) { console.error("recipient delta"); process.exit(1); }' \
        "$1" "$2" "$3" "$(cat "$TMP/rc.json")" "$(bal "$EA")" "$(bal "$EVM_ADDR3")" || fail "balances are not exact"
}

step "wallet send --chain eth --mpc-key (EIP-1559): mined from the MPC address, balances exact"
SB=$(bal "$EA"); RB=$(bal "$EVM_ADDR3")
run 0 "$KG" wallet send --chain eth "${M[@]}" --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.25 --json
jq -e '.status == "success"' "$TMP/out" >/dev/null || fail "send: $(cat "$TMP/out")"
HASH=$(jq -r .tx_hash "$TMP/out")
evm_rpc eth_getTransactionByHash "[\"$HASH\"]" >"$TMP/tx.json"
[ "$(jq -r .type "$TMP/tx.json")" = 0x2 ] || fail "not an EIP-1559 tx: $(cat "$TMP/tx.json")"
[ "$(jq -r .from "$TMP/tx.json" | tr A-F a-f)" = "$(printf '%s' "$EA" | tr A-F a-f)" ] || fail "from: $(cat "$TMP/tx.json")"
exact "$SB" "$RB" 250000000000000000 "$HASH"

step "wallet sign-message --mpc-key: ethers.verifyMessage recovers the MPC address"
run 0 "$KG" wallet sign-message --chain eth "${M[@]}" --message "hello from three nodes"
SIG=$(cat "$TMP/out")
GOT=$(cd "$EVM_DIR_SRC" && node -e 'console.log(require("ethers").verifyMessage(process.argv[1], process.argv[2]))' \
    "hello from three nodes" "$SIG") || fail "ethers cannot parse $SIG"
[ "$GOT" = "$EA" ] || fail "ethers recovers $GOT, not $EA"

step "refused before signing (exit 1, nothing sent): hardened path, index >= 2^31, solana, p2tr, --name too"
N0=$(nonce "$EA"); B0=$(bal "$EA")
SEND=(wallet send --chain eth "${M[@]}" --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.01)
run 1 "$KG" "${SEND[@]}" --path "m/0'/1"
grep -q "hardened" "$TMP/err" && grep -q "non-hardened" "$TMP/err" || fail "hardened path: $(cat "$TMP/err")"
run 1 "$KG" "${SEND[@]}" --path "m/44'/60'/0'/0/0"
grep -q "level 1 is hardened" "$TMP/err" || fail "BIP44 path: $(cat "$TMP/err")"
run 1 "$KG" "${SEND[@]}" --index 2147483648
grep -q -- "--index" "$TMP/err" || fail "index 2^31: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain eth "${M[@]}" --path "m/0h/0"
grep -q "hardened" "$TMP/err" || fail "address, hardened path: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain solana "${M[@]}"
grep -q "Ed25519" "$TMP/err" || fail "solana: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain btc --type p2tr "${M[@]}"
grep -q "p2tr" "$TMP/err" || fail "p2tr: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain eth --name main "${M[@]}"
grep -q "not both" "$TMP/err" || fail "--name with --mpc-key: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain eth
grep -q -- "--mpc-key" "$TMP/err" || fail "no --name: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain eth --mpc-key mpc-00000000000000000000000000000000 --ca-dir "$D"
grep -qi "no mpc key" "$TMP/err" || fail "unknown key: $(cat "$TMP/err")"
[ "$(nonce "$EA")" = "$N0" ] && [ "$(bal "$EA")" = "$B0" ] || fail "something was sent"

step "btc: P2WPKH address of the MPC key = @scure/btc-signer's for the child m/0/0"
run 0 "$KG" wallet address --chain btc --network regtest "${M[@]}"
WANT=$(cd "$BTC_DIR" && node --input-type=module -e '
    import * as btc from "@scure/btc-signer"; import { hex } from "@scure/base";
    console.log(btc.p2wpkh(hex.decode(process.argv[1]), { ...btc.TEST_NETWORK, bech32: "bcrt" }).address);' "$C0")
[ "$(cat "$TMP/out")" = "$WANT" ] || fail "btc address $(cat "$TMP/out"), scure says $WANT"
BA=$WANT

step "btc: esplora.mjs (scure's BIP143 sighash, noble's ECDSA) funds it; wallet send --chain btc --mpc-key"
# p2wpkh_of PUB_HEX: the regtest P2WPKH address by @scure/btc-signer
p2wpkh_of() {
    (cd "$BTC_DIR" && node --input-type=module -e '
        import * as btc from "@scure/btc-signer"; import { hex } from "@scure/base";
        console.log(btc.p2wpkh(hex.decode(process.argv[1]), { ...btc.TEST_NETWORK, bech32: "bcrt" }).address);' "$1")
}
# a foreign address (the key 1*G's) and the MPC key's change address m/1/0
FOREIGN=$(p2wpkh_of 0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798)
CHANGE=$(p2wpkh_of "$(child_pub "$PUB" "$CC" m/1/0)")
node "$BTC_DIR/esplora.mjs" --network regtest --fund "$BA:60000" >"$TMP/btc.out" 2>"$TMP/btc.err" &
BTC_PID=$!
for _ in $(seq 1 200); do [ -s "$TMP/btc.out" ] && break; sleep 0.05; done
BURL=$(jq -r .url "$TMP/btc.out" 2>/dev/null)
[[ $BURL == http://127.0.0.1:*/api ]] || { cat "$TMP/btc.err" >&2; fail "esplora.mjs did not start"; }
run 0 "$KG" wallet send --chain btc --network regtest "${M[@]}" --rpc "$BURL" --to "$FOREIGN" --amount 20000sat \
    --fee-rate 2
BTX=$(cat "$TMP/out")
curl -sS "$BURL/tx/$BTX" >"$TMP/btx.json"
jq -e --arg to "$FOREIGN" --arg c "$CHANGE" '([.vout[] | select(.scriptpubkey_address == $to and .value == 20000)]
    | length == 1) and ([.vout[] | select(.scriptpubkey_address == $c)] | length == 1)' "$TMP/btx.json" >/dev/null \
    || fail "the node's tx does not pay 20000 sat to $FOREIGN with change to m/1/0: $(cat "$TMP/btx.json")"
BFEE=$(jq .fee "$TMP/btx.json")
run 0 "$KG" wallet balance --chain btc --network regtest "${M[@]}" --rpc "$BURL"
[ "$(cat "$TMP/out")" = $((60000 - 20000 - BFEE)) ] || fail "btc balance $(cat "$TMP/out"), fee $BFEE"
kill "$BTC_PID" 2>/dev/null; wait "$BTC_PID" 2>/dev/null; BTC_PID=

step "cosmos: cosmjs's address of the child; the node funds it; wallet send --chain cosmos --mpc-key"
CA=$(cd "$IDIR" && node -e '
    const { pubkeyToAddress } = require("@cosmjs/amino");
    const pub = { type: "tendermint/PubKeySecp256k1", value: Buffer.from(process.argv[1], "hex").toString("base64") };
    console.log(pubkeyToAddress(pub, "cosmos"));' "$C0") || fail "cosmjs failed"
run 0 "$KG" wallet address --chain cosmos "${M[@]}"
[ "$(cat "$TMP/out")" = "$CA" ] || fail "cosmos address $(cat "$TMP/out"), cosmjs says $CA"
node "$IDIR/cosmos_node.mjs" --chain-id kg-mpc-1 --fund "$CA=1000000uatom" >"$TMP/cosmos.out" 2>"$TMP/cosmos.err" &
COSMOS_PID=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/cosmos.out" && break; sleep 0.1; done
CRPC=$(sed -n 's/^listening on //p' "$TMP/cosmos.out")
[ -n "$CRPC" ] || { cat "$TMP/cosmos.err" >&2; fail "the cosmos node did not start"; }
TO=cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4
run 0 "$KG" wallet send --chain cosmos "${M[@]}" --rpc "$CRPC" --to "$TO" --amount 100000 --denom uatom --fee 500
CH=$(cat "$TMP/out")
[ "$(curl -sS "$CRPC/cosmos/tx/v1beta1/txs/$CH" | jq -r .tx_response.code)" = 0 ] || fail "the node has no tx $CH"
run 0 "$KG" wallet balance --chain cosmos "${M[@]}" --rpc "$CRPC" --denom uatom
[ "$(cat "$TMP/out")" = 899500 ] || fail "sender uatom $(cat "$TMP/out")"
[ "$(curl -sS "$CRPC/cosmos/bank/v1beta1/balances/$TO/by_denom?denom=uatom" | jq -r .balance.amount)" = 100000 ] \
    || fail "recipient uatom"

step "node 3 killed: a legacy (--tx-type 0) send is signed by nodes 1 and 2 and mined"
mpc_kill_node 3
SB=$(bal "$EA"); RB=$(bal "$EVM_ADDR3")
run 0 "$KG" wallet send --chain eth "${M[@]}" --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.1 --tx-type 0
HASH=$(cat "$TMP/out")
evm_rpc eth_getTransactionByHash "[\"$HASH\"]" >"$TMP/tx.json"
[ "$(jq -r .type "$TMP/tx.json")" = 0x0 ] || fail "not a legacy tx: $(cat "$TMP/tx.json")"
exact "$SB" "$RB" 100000000000000000 "$HASH"

step "a cggmp21-p256 key is refused for eth (exit 1, nothing signed or sent)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$(mpc_addr 1),$(mpc_addr 2)" --threshold 2 --scheme cggmp21-p256 --json
PK=$(jq -r .key_id "$TMP/out")
N0=$(nonce "$EA")
run 1 "$KG" wallet send --chain eth --mpc-key "$PK" --ca-dir "$D" --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.01
grep -q "cggmp21-p256" "$TMP/err" && grep -q "secp256k1" "$TMP/err" || fail "P-256 key: $(cat "$TMP/err")"
run 1 "$KG" wallet address --chain eth --mpc-key "$PK" --ca-dir "$D"
grep -q "cggmp21-p256" "$TMP/err" || fail "P-256 address: $(cat "$TMP/err")"
[ "$(nonce "$EA")" = "$N0" ] || fail "something was sent"

step "through the server (no --ca-dir): a dev server's 2-of-3 key; address = ethers'; send mined, balances exact"
KG_MPC_DEV_PRIMES=$PRIMES mpc_start_dev_server "$TMP/data" 3
printf '{"scheme":"cggmp21-secp256k1","threshold":2,"parties":3}' >"$TMP/kg.json"
[ "$(http POST /v1/mpc/keys "$TMP/kg.json")" = 200 ] || fail "keygen: $(cat "$TMP/body")"
SKEY=$(jq -r .key_id "$TMP/body")
SC0=$(child_pub "$(jq -r .public_key "$TMP/body")" "$(jq -r .chain_code "$TMP/body")" m/0/1)
run 0 "$KG" wallet address --chain eth --mpc-key "$SKEY" --index 1
SA=$(cat "$TMP/out")
[ "$SA" = "$(eth_addr "$SC0")" ] || fail "server key address $SA, ethers says $(eth_addr "$SC0")"
evm_rpc eth_sendTransaction "[{\"from\":\"$EVM_ADDR0\",\"to\":\"$SA\",\"value\":\"0xde0b6b3a7640000\"}]" >/dev/null \
    || fail "funding failed"
RB=$(bal "$EVM_ADDR3")
run 0 "$KG" wallet send --chain eth --mpc-key "$SKEY" --index 1 --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.3
HASH=$(cat "$TMP/out")
EA=$SA; exact 0xde0b6b3a7640000 "$RB" 300000000000000000 "$HASH"
run 1 "$KG" wallet send --chain eth --mpc-key "$SKEY" --path "m/1'" --rpc "$EVM_RPC" --to "$EVM_ADDR3" --amount 0.3
grep -q "hardened" "$TMP/err" || fail "hardened path via the server: $(cat "$TMP/err")"
KASHGUARD_TOKEN=bad run 2 "$KG" wallet address --chain eth --mpc-key "$SKEY"
echo "PASS"
