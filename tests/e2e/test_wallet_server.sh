#!/usr/bin/env bash
# End-to-end: the server's /v1/wallets API over HTTP with curl, checked by an
# independent implementation (ethers v6, tests/evm helpers):
#   - a wallet's eth address is what ethers computes from the KMS public key;
#   - sign-message / sign-typed-data signatures recover to it (EIP-191, the
#     EIP-712 "Ether Mail" example);
#   - sign-transaction output of types 0, 1 and 2 decodes with ethers, is
#     canonical RLP with low s, and recovers to the wallet's address;
#   - then, on a local hardhat node, the wallet is funded and a transaction it
#     signed through the API is broadcast and mined with status 1.
# Skips (77) when node/npm/the npm registry, curl or jq is unavailable.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${KG_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/evm/lib.sh
. "$SRC/tests/evm/lib.sh" || { echo "FAIL: cannot source tests/evm/lib.sh" >&2; exit 1; }

evm_setup
start_server "$TMP/data"

# post PATH JSON: POST the JSON, assert 200, body in $TMP/body.
post() {
    printf '%s' "$2" >"$TMP/req.json"
    local got
    got=$(http POST "$1" "$TMP/req.json")
    [ "$got" = 200 ] || fail "POST $1 gave $got: $(head -c 400 "$TMP/body")"
}

step "create a wallet"
post /v1/wallets '{"name":"e2e"}'
ADDR=$(jq -r .addresses.eth "$TMP/body")
KEY=$(jq -r .key_id "$TMP/body")
[ "${#ADDR}" = 42 ] || fail "no eth address: $(cat "$TMP/body")"

step "the eth address is ethers' address of the KMS public key"
[ "$(http GET "/v1/keys/$KEY/public-key")" = 200 ] || fail "public-key: $(cat "$TMP/body")"
PUBHEX=0x$(jq -r .public_key "$TMP/body" | base64 -d | od -An -tx1 -v | tr -d ' \n')
WANT=$(cd "$EVM_DIR" && node --input-type=module -e \
    "import { ethers } from 'ethers'; console.log(ethers.computeAddress('$PUBHEX'))") || fail "ethers computeAddress"
[ "$WANT" = "$ADDR" ] || fail "server says $ADDR, ethers says $WANT"

step "sign-message recovers to the wallet (ethers verifyMessage)"
post /v1/wallets/e2e/sign-message '{"chain":"eth","message":"hello from kashguard"}'
SIG=$(jq -r .signature "$TMP/body")
evm_node verify-message.mjs "$ADDR" "hello from kashguard" "$SIG" >"$TMP/out" 2>"$TMP/err" ||
    fail "verify-message: $(cat "$TMP/out" "$TMP/err")"

step "sign-typed-data (EIP-712 Ether Mail) recovers to the wallet"
TYPED=$(jq -c . "$EVM_DIR/fixtures/eip712_mail.json") || fail "cannot read the EIP-712 fixture"
printf '%s' "$TYPED" >"$TMP/typed.json"
post /v1/wallets/e2e/sign-typed-data "{\"typed_data\":$TYPED}"
SIG=$(jq -r .signature "$TMP/body")
evm_node verify-typed.mjs "$ADDR" "$TMP/typed.json" "$SIG" >"$TMP/out" 2>"$TMP/err" ||
    fail "verify-typed: $(cat "$TMP/out" "$TMP/err")"
[ "$(jq -r .digest "$TMP/out")" = "$(jq -r .digest "$TMP/body")" ] || fail "EIP-712 digests differ"

# decode RAW: ethers decodes it, recovers the wallet, canonical and low-s.
decode() {
    evm_node decode-tx.mjs "$1" --expect-from "$ADDR" >"$TMP/out" 2>"$TMP/err" ||
        fail "decode-tx: $(cat "$TMP/out" "$TMP/err")"
}

step "sign-transaction type 2 / 1 / 0 decode with ethers and recover the wallet"
TO=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
post /v1/wallets/e2e/sign-transaction "{\"chain\":\"eth\",\"tx\":{\"type\":2,\"chain_id\":\"31337\",\"nonce\":\"3\",\"to\":\"$TO\",\"value\":\"1000\",\"data\":\"0x\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"3000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}}"
RAW=$(jq -r .raw "$TMP/body")
HASH=$(jq -r .hash "$TMP/body")
decode "$RAW"
[ "$(jq -r .hash "$TMP/out")" = "$HASH" ] || fail "tx hash differs from ethers'"
[ "$(jq -r .max_fee_per_gas "$TMP/out")" = 3000000000 ] || fail "max fee not as given: $(cat "$TMP/out")"
post /v1/wallets/e2e/sign-transaction "{\"tx\":{\"type\":1,\"chain_id\":\"5\",\"nonce\":\"0\",\"to\":\"$TO\",\"gas_limit\":\"60000\",\"gas_price\":\"7\",\"data\":\"0x1234\",\"access_list\":[{\"address\":\"$TO\",\"storage_keys\":[\"0x0000000000000000000000000000000000000000000000000000000000000001\"]}]}}"
decode "$(jq -r .raw "$TMP/body")"
post /v1/wallets/e2e/sign-transaction "{\"tx\":{\"type\":0,\"chain_id\":\"1\",\"nonce\":\"9\",\"to\":\"$TO\",\"value\":\"0x2a\",\"gas_limit\":\"21000\",\"gas_price\":\"20000000000\"}}"
decode "$(jq -r .raw "$TMP/body")"
[ "$(jq -r .chain_id "$TMP/out")" = 1 ] || fail "legacy tx lost its EIP-155 chain id: $(cat "$TMP/out")"

step "bad fields are 400 with a message"
printf '%s' '{"tx":{"chain_id":"1","nonce":"x","gas_limit":"21000","max_fee_per_gas":"1","max_priority_fee_per_gas":"1"}}' >"$TMP/bad.json"
assert_http 400 bad_input POST /v1/wallets/e2e/sign-transaction "$TMP/bad.json"
assert_http 404 not_found GET /v1/wallets/nope

step "fund the wallet on a hardhat node and broadcast a transfer it signed"
evm_start
evm_node fund.mjs "$ADDR" 1 >"$TMP/out" 2>"$TMP/err" || fail "fund: $(cat "$TMP/err")"
NONCE=$(evm_rpc eth_getTransactionCount "[\"$ADDR\",\"pending\"]" | jq -r . | xargs printf '%d')
post /v1/wallets/e2e/sign-transaction "{\"tx\":{\"type\":2,\"chain_id\":\"$EVM_CHAIN_ID\",\"nonce\":\"$NONCE\",\"to\":\"$EVM_ADDR2\",\"value\":\"123456789\",\"gas_limit\":\"21000\",\"max_fee_per_gas\":\"100000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}}"
HASH=$(jq -r .hash "$TMP/body")
evm_node send-raw.mjs - "$(jq -r .raw "$TMP/body")" >"$TMP/out" 2>"$TMP/err" ||
    fail "send-raw: $(cat "$TMP/out" "$TMP/err")"
[ "$(jq -r .status "$TMP/out")" = 1 ] || fail "not mined with status 1: $(cat "$TMP/out")"
[ "$(jq -r .hash "$TMP/out")" = "$HASH" ] || fail "the node's tx hash differs from the server's"
[ "$(jq -r .from "$TMP/out")" = "$ADDR" ] || fail "mined from $(jq -r .from "$TMP/out"), not $ADDR"

echo "PASS: wallet API interop (address, EIP-191, EIP-712, tx types 0/1/2, broadcast)"
