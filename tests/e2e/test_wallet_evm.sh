#!/usr/bin/env bash
# End-to-end: the self-custody wallet moves ETH, an ERC-20 and an ERC-721 on a
# real EVM node (hardhat/EDR on loopback), checked by an independent client
# (ethers v6 helpers in tests/evm).
#
# A wallet is restored from a fixed BIP39 mnemonic; its eth address must equal
# ethers' derivation of m/44'/60'/0'/0/0. The node's dev account funds it with
# ETH, TestToken units and a freshly minted TestNFT. `kashguard wallet send`
# then moves ETH (type 2, 1 and 0 transactions), tokens and the NFT to the
# wallet's index 1 address; every receipt must say success and every balance,
# nonce and the NFT's owner must change by exactly what was sent plus the gas
# the receipt charged. A send beyond the balance fails with exit 2, a clear
# message and no nonce used; a wrong passphrase fails with exit 1.
# Skips (77) only when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/evm/lib.sh
. "$SRC/tests/evm/lib.sh"

PY=/usr/bin/python3
PASSED=0
fail() {
    echo "FAIL (step $STEP): $*" >&2
    [ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2
    [ -n "${EVM_LOG:-}" ] && [ -f "$EVM_LOG" ] && tail -n 15 "$EVM_LOG" | sed 's/^/  node: /' >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}
ok() { PASSED=$((PASSED + 1)); }
# big EXPR: exact integer arithmetic on wei amounts (python ints).
big() { "$PY" -c "print($1)"; }
field() { jq -r "$1" "$TMP/out"; }
no_tty() { "$@" </dev/null; }

export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='wallet e2e passphrase'
W=(wallet)
# BIP39 test vector (entropy 0x7f..7f): a fresh address with no dev funds.
MNEMONIC="legal winner thank year wave sausage worth useful legal winner thank yellow"

step "restore a wallet from a mnemonic file"
(umask 077 && printf '%s\n' "$MNEMONIC" >"$TMP/mnemonic.txt")
run 0 "$KG" "${W[@]}" restore --name alice --mnemonic-file "$TMP/mnemonic.txt"
[ "$(cat "$TMP/out")" = alice ] || fail "restore printed '$(cat "$TMP/out")', expected the name"
grep -rqF "legal winner" "$TMP/wallets" && fail "the wallet file holds the mnemonic in clear"
ok
run 0 env -u KASHGUARD_WALLET_DIR "$KG" wallet list --wallet-dir "$TMP/wallets"
grep -qx alice "$TMP/out" || fail "wallet list --wallet-dir does not show alice: $(cat "$TMP/out")"
ok

step "eth addresses equal ethers' derivation (m/44'/60'/0'/0/i)"
evm_setup
run 0 "$KG" "${W[@]}" address --name alice --chain eth
FROM=$(cat "$TMP/out")
run 0 "$KG" "${W[@]}" address --name alice --chain eth --index 1
TO=$(cat "$TMP/out")
REF=$(cd "$EVM_DIR" && node --input-type=module -e '
    import { ethers } from "ethers";
    const m = ethers.Mnemonic.fromPhrase(process.argv[1]);
    const a = [0, 1].map((i) => ethers.HDNodeWallet.fromMnemonic(m, `m/44'"'"'/60'"'"'/0'"'"'/0/${i}`).address);
    console.log(a.join(" "));' "$MNEMONIC") || fail "ethers could not derive the reference addresses"
[ "$FROM $TO" = "$REF" ] || fail "our addresses '$FROM $TO' differ from ethers' '$REF'"
ok
run 0 "$KG" "${W[@]}" address --name alice --chain evm
[ "$(cat "$TMP/out")" = "$FROM" ] || fail "--chain evm gives another address"
run 0 "$KG" "${W[@]}" address --name alice --chain 31337 --path "m/44'/60'/0'/0/1"
[ "$(cat "$TMP/out")" = "$TO" ] || fail "--path m/44'/60'/0'/0/1 differs from --index 1"
ok

step "start hardhat, deploy TestToken and TestNFT, fund the wallet"
evm_start
evm_deploy
evm_node fund.mjs "$FROM" 10 --token "$EVM_TOKEN" --amount 1000 --nft "$EVM_NFT" --rpc "$EVM_RPC" >"$TMP/out" 2>"$TMP/err" \
    || fail "fund.mjs failed"
NFT_ID=$(field .nft_id)
[ "$(field .eth_balance_wei)" = 10000000000000000000 ] || fail "funding: $(cat "$TMP/out")"
[ "$(field .token_balance)" = 1000000000000000000000 ] || fail "funding: $(cat "$TMP/out")"
ok

# snapshot ADDR NAME: balances.mjs for ADDR, stored as $TMP/NAME.json
snapshot() {
    evm_node balances.mjs "$EVM_RPC" "$1" "$EVM_TOKEN" "$EVM_NFT" "$NFT_ID" >"$TMP/$2.json" 2>"$TMP/err" \
        || fail "balances.mjs $1 failed"
}
get() { jq -r ".$2" "$TMP/$1.json"; }
# fee TXHASH: wei the receipt charged (gas_used * effective_gas_price); checks status 1.
fee() {
    evm_node receipt.mjs "$EVM_RPC" "$1" >"$TMP/receipt.json" 2>"$TMP/err" || fail "receipt of $1: not mined or reverted"
    [ "$(jq -r .status "$TMP/receipt.json")" = 1 ] || fail "receipt of $1: status $(jq -r .status "$TMP/receipt.json")"
    [ "$(jq -r .from "$TMP/receipt.json")" = "$FROM" ] || fail "receipt of $1: from $(jq -r .from "$TMP/receipt.json")"
    big "$(jq -r .gas_used "$TMP/receipt.json") * $(jq -r .effective_gas_price "$TMP/receipt.json")"
}
is_hash() { [[ $1 =~ ^0x[0-9a-f]{64}$ ]]; }

step "wallet balance agrees with the node"
snapshot "$FROM" a0
run 0 "$KG" "${W[@]}" balance --name alice --chain eth --rpc "$EVM_RPC"
[ "$(cat "$TMP/out")" = "$(get a0 eth_wei)" ] || fail "balance '$(cat "$TMP/out")' != node's $(get a0 eth_wei)"
run 0 "$KG" "${W[@]}" balance --name alice --chain eth --rpc "$EVM_RPC" --token "$EVM_TOKEN"
[ "$(cat "$TMP/out")" = "$(get a0 token_balance)" ] || fail "token balance '$(cat "$TMP/out")' != $(get a0 token_balance)"
run 0 "$KG" "${W[@]}" balance --name alice --chain eth --rpc "$EVM_RPC" --index 1
[ "$(cat "$TMP/out")" = 0 ] || fail "index 1 should be empty, got '$(cat "$TMP/out")'"
ok

step "send 1.5 ETH (EIP-1559), receipt ok, balances exact"
snapshot "$FROM" a0; snapshot "$TO" b0
run 0 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --amount 1.5
H1=$(cat "$TMP/out"); is_hash "$H1" || fail "send printed '$H1', expected a tx hash alone"
F1=$(fee "$H1")
snapshot "$FROM" a1; snapshot "$TO" b1
[ "$(get b1 eth_wei)" = 1500000000000000000 ] || fail "recipient has $(get b1 eth_wei) wei"
[ "$(get a1 eth_wei)" = "$(big "$(get a0 eth_wei) - 1500000000000000000 - $F1")" ] \
    || fail "sender: $(get a0 eth_wei) -> $(get a1 eth_wei), fee $F1"
[ "$(get a1 nonce)" = $(($(get a0 nonce) + 1)) ] || fail "nonce $(get a0 nonce) -> $(get a1 nonce)"
[ "$(evm_rpc eth_getTransactionByHash "[\"$H1\"]" | jq -r .type)" = 0x2 ] || fail "send did not use a type 2 tx"
ok

step "send ETH as type 1 and type 0 transactions, and an amount in wei"
for t in 1 0; do
    snapshot "$FROM" a0; snapshot "$TO" b0
    run 0 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --amount 12345wei --tx-type "$t"
    H=$(cat "$TMP/out"); is_hash "$H" || fail "send printed '$H'"
    F=$(fee "$H")
    snapshot "$FROM" a1; snapshot "$TO" b1
    [ "$(get b1 eth_wei)" = "$(big "$(get b0 eth_wei) + 12345")" ] || fail "type $t: recipient $(get b0 eth_wei) -> $(get b1 eth_wei)"
    [ "$(get a1 eth_wei)" = "$(big "$(get a0 eth_wei) - 12345 - $F")" ] || fail "type $t: sender balance off"
    TX=$(evm_rpc eth_getTransactionByHash "[\"$H\"]")
    [ "$(jq -r .type <<<"$TX")" = "0x$t" ] || fail "asked type $t, node saw $(jq -r .type <<<"$TX")"
    if [ "$t" = 0 ]; then   # EIP-155: v = 31337 * 2 + 35 + y_parity
        [[ $(jq -r .v <<<"$TX") =~ ^0xf4f[56]$ ]] || fail "type 0 tx v $(jq -r .v <<<"$TX"): not EIP-155 for chain 31337"
    else
        [ "$(jq -r .chainId <<<"$TX")" = 0x7a69 ] || fail "type $t tx with chain id $(jq -r .chainId <<<"$TX")"
    fi
done
ok

step "send 250 KGT (ERC-20 transfer), balances exact"
snapshot "$FROM" a0; snapshot "$TO" b0
run 0 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --token "$EVM_TOKEN" \
    --amount 250000000000000000000
H2=$(cat "$TMP/out"); is_hash "$H2" || fail "send printed '$H2'"
F2=$(fee "$H2")
[ "$(jq -r .to "$TMP/receipt.json")" = "$EVM_TOKEN" ] || fail "the ERC-20 transfer was not sent to the token contract"
snapshot "$FROM" a1; snapshot "$TO" b1
[ "$(get a1 token_balance)" = 750000000000000000000 ] || fail "sender tokens $(get a1 token_balance)"
[ "$(get b1 token_balance)" = 250000000000000000000 ] || fail "recipient tokens $(get b1 token_balance)"
[ "$(get a1 eth_wei)" = "$(big "$(get a0 eth_wei) - $F2")" ] || fail "an ERC-20 transfer moved ETH"
[ "$(get b1 eth_wei)" = "$(get b0 eth_wei)" ] || fail "recipient ETH changed"
ok

step "send the NFT (ERC-721 safeTransferFrom/transferFrom), owner changes"
snapshot "$FROM" a0
[ "$(get a0 nft_owner)" = "$FROM" ] || fail "before: NFT #$NFT_ID owner $(get a0 nft_owner)"
run 0 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --nft "$EVM_NFT" --token-id "$NFT_ID"
H3=$(cat "$TMP/out"); is_hash "$H3" || fail "send printed '$H3'"
F3=$(fee "$H3")
snapshot "$FROM" a1; snapshot "$TO" b1
[ "$(get b1 nft_owner)" = "$TO" ] || fail "NFT #$NFT_ID owner is $(get b1 nft_owner), expected $TO"
[ "$(get a1 nft_balance)" = 0 ] && [ "$(get b1 nft_balance)" = 1 ] || fail "NFT balances $(get a1 nft_balance)/$(get b1 nft_balance)"
[ "$(get a1 eth_wei)" = "$(big "$(get a0 eth_wei) - $F3")" ] || fail "the NFT transfer moved ETH"
ok

step "too little balance: exit 2, clear message, no nonce used"
snapshot "$FROM" a0
PENDING0=$(evm_rpc eth_getTransactionCount "[\"$FROM\",\"pending\"]")
run 2 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --amount 1000
grep -q '^Error: ' "$TMP/err" || fail "no 'Error: ' line on stderr"
grep -qiE 'insufficient|balance|funds' "$TMP/err" || fail "the message does not say the balance is too low"
sed 's/^/   ETH:   /' "$TMP/err"
[ -s "$TMP/out" ] && fail "a failed send printed '$(cat "$TMP/out")' on stdout"
ok
run 2 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --token "$EVM_TOKEN" \
    --amount 1000000000000000000000000
grep -q '^Error: ' "$TMP/err" || fail "no 'Error: ' line for a token amount above the balance"
sed 's/^/   ERC-20: /' "$TMP/err"
run 2 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --nft "$EVM_NFT" --token-id "$NFT_ID"
grep -q '^Error: ' "$TMP/err" || fail "no 'Error: ' line for an NFT we no longer own"
sed 's/^/   NFT:   /' "$TMP/err"
snapshot "$FROM" a1
[ "$(get a1 nonce)" = "$(get a0 nonce)" ] || fail "failed sends used a nonce: $(get a0 nonce) -> $(get a1 nonce)"
[ "$(evm_rpc eth_getTransactionCount "[\"$FROM\",\"pending\"]")" = "$PENDING0" ] || fail "a failed send left a pending tx"
[ "$(get a1 eth_wei)" = "$(get a0 eth_wei)" ] || fail "failed sends cost gas"
ok

step "wrong or missing passphrase: exit 1, nothing sent"
KASHGUARD_WALLET_PASSPHRASE='not the passphrase' run 1 "$KG" "${W[@]}" send --name alice --chain eth \
    --rpc "$EVM_RPC" --to "$TO" --amount 0.1
grep -q '^Error: ' "$TMP/err" || fail "no 'Error: ' line for a wrong passphrase"
grep -qi 'passphrase' "$TMP/err" || fail "the message does not mention the passphrase"
sed 's/^/   /' "$TMP/err"
KASHGUARD_WALLET_PASSPHRASE='not the passphrase' run 1 "$KG" "${W[@]}" address --name alice --chain eth
run 1 no_tty env -u KASHGUARD_WALLET_PASSPHRASE "$KG" "${W[@]}" address --name alice --chain eth
grep -q 'KASHGUARD_WALLET_PASSPHRASE' "$TMP/err" || fail "without a passphrase the message should name KASHGUARD_WALLET_PASSPHRASE"
snapshot "$FROM" a2
[ "$(get a2 nonce)" = "$(get a0 nonce)" ] || fail "a wrong passphrase still sent a transaction"
ok

step "bad input is refused locally (exit 1)"
run 1 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to 0x1234 --amount 1
grep -q '^Error: ' "$TMP/err" || fail "bad --to: no error line"
run 1 "$KG" "${W[@]}" send --name alice --chain eth --rpc "$EVM_RPC" --to "$TO" --amount -1
run 1 "$KG" "${W[@]}" send --name nobody --chain eth --rpc "$EVM_RPC" --to "$TO" --amount 1
printf 'legal winner thank year wave sausage worth useful legal winner thank thank\n' >"$TMP/bad.txt"
run 1 "$KG" "${W[@]}" restore --name bad --mnemonic-file "$TMP/bad.txt"
grep -qi 'checksum\|mnemonic' "$TMP/err" || fail "a bad mnemonic checksum is not explained"
ok

step "RPC failure: exit 2"
run 2 "$KG" "${W[@]}" balance --name alice --chain eth --rpc "http://127.0.0.1:1"
grep -q '^Error: ' "$TMP/err" || fail "an unreachable node gives no error line"
ok

echo "$PASSED passed, 0 failed"
