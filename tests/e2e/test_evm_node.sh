#!/usr/bin/env bash
# End-to-end: proves the local EVM harness that the wallet tests build on
# (tests/evm: hardhat node, solc-js, ethers v6 helpers) — without kashguard.
#
# Installs tests/evm's pinned npm packages if needed, starts a hardhat node on a
# free loopback port, compiles and deploys the test contracts, moves ETH, an
# ERC-20 and an ERC-721 with raw transactions signed by ethers, and checks each
# helper's CLI contract, including its failure exits, against official vectors
# (EIP-155 example, EIP-712 "Ether Mail", Web3 Secret Storage test vectors).
# Skips (77) when node/npm or the npm registry is unavailable.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${KG_SOURCE_DIR:-$(cd "$HERE/../.." && pwd)}
VEC="$SRC/../shared/vectors"
# shellcheck source=tests/evm/lib.sh
. "$SRC/tests/evm/lib.sh" || { echo "FAIL: cannot source $SRC/tests/evm/lib.sh" >&2; exit 1; }
command -v jq >/dev/null || _evm_skip "jq is not installed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kg-evm-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
STEP=0
PASSED=0

fail() {
    echo "FAIL (step $STEP): $*" >&2
    [ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2
    [ -n "${EVM_LOG:-}" ] && [ -f "$EVM_LOG" ] && tail -n 20 "$EVM_LOG" | sed 's/^/  node: /' >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}
step() { STEP=$((STEP + 1)); echo "-- $STEP: $*"; }
ok() { PASSED=$((PASSED + 1)); }

# h WANT SCRIPT ARGS...: run a tests/evm helper, stdout -> out, assert exit WANT.
h() {
    local want=$1 rc
    shift
    evm_node "$@" >out 2>err
    rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc from: $* ($(cat out))"
}
j() { jq -er "$1" out || fail "no $1 in: $(cat out)"; }
eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }

step "npm packages (npm ci when node_modules is missing or stale)"
t0=$(date +%s%N)
evm_setup
echo "   setup: $((($(date +%s%N) - t0) / 1000000)) ms"
ok

step "start the hardhat node"
t0=$(date +%s%N)
evm_start
echo "   node up in $((($(date +%s%N) - t0) / 1000000)) ms at $EVM_RPC (pid $EVM_PID)"
eq "$(evm_rpc eth_chainId)" '"0x7a69"' "chain id"
kill -0 "$EVM_PID" || fail "EVM_PID $EVM_PID is not running"
ok

step "the exported dev keys are the mnemonic's accounts and are funded"
# shellcheck disable=SC2016  # JavaScript, not shell
node -e '
    const { ethers } = require(process.argv[1] + "/node_modules/ethers");
    const root = ethers.HDNodeWallet.fromPhrase(process.env.EVM_MNEMONIC, undefined, "m");
    for (let i = 0; i < 5; i++) {
        const w = root.derivePath(`m/44'"'"'/60'"'"'/0'"'"'/0/${i}`);
        if (w.privateKey !== process.env["EVM_KEY" + i] || w.address !== process.env["EVM_ADDR" + i]) {
            console.error(`account ${i}: derived ${w.address} ${w.privateKey}`); process.exit(1);
        }
    }' "$EVM_DIR" 2>err || fail "EVM_KEYi/EVM_ADDRi do not match the mnemonic"
h 0 balances.mjs "$EVM_RPC" "$EVM_ADDR4"
eq "$(j .eth_wei)" 10000000000000000000000 "account 4 balance"
ok

step "compile the contracts with solc-js, then deploy them"
h 0 compile.mjs
eq "$(j '.compiled | join(",")')" TestNFT,TestNFTReceiver,TestToken "compiled contracts"
h 0 compile.mjs
eq "$(j .cached)" true "second compile is cached"
evm_deploy
[ "$EVM_NFT_ID" = 1 ] || fail "first NFT id is $EVM_NFT_ID"
ok

step "balances.mjs: ETH, ERC-20 and NFT owner of the deployer"
h 0 balances.mjs "$EVM_RPC" "$EVM_ADDR0" "$EVM_TOKEN" "$EVM_NFT" "$EVM_NFT_ID"
eq "$(j .token_balance)" 1000000000000000000000000 "deployer's KGT"
eq "$(j .nft_owner)" "$EVM_ADDR0" "owner of NFT 1"
eq "$(j .nft_balance)" 1 "deployer's NFT count"
h 0 balances.mjs - "$EVM_ADDR1" - "$EVM_NFT" 77
eq "$(j .nft_owner)" none "owner of a token that does not exist"
h 2 balances.mjs "$EVM_RPC"
ok

step "fund.mjs: ETH, tokens and a new NFT for a fresh address"
FRESH=$(node -e 'const {ethers}=require(process.argv[1]+"/node_modules/ethers"); console.log(ethers.Wallet.createRandom().address)' "$EVM_DIR")
h 0 fund.mjs "$FRESH" 2.5 --token "$EVM_TOKEN" --amount 100.25 --nft "$EVM_NFT"
eq "$(j .eth_balance_wei)" 2500000000000000000 "fresh ETH"
eq "$(j .token_balance)" 100250000000000000000 "fresh KGT"
eq "$(j .nft_id)" 2 "fresh NFT id"
h 0 balances.mjs - "$FRESH" "$EVM_TOKEN" "$EVM_NFT" 2
eq "$(j .nft_owner)" "$FRESH" "owner of NFT 2"
ok

# sign_send KEY TX_JSON [WANT]: sign with ethers, decode-tx checks it, broadcast.
sign_send() {
    local key=$1 tx=$2 want=${3:-0} raw from
    h 0 sign.mjs tx "$key" "$tx"
    raw=$(j .raw)
    from=$(j .from)
    h 0 decode-tx.mjs "$raw" --expect-from "$from"
    h "$want" send-raw.mjs "$EVM_RPC" "$raw"
}

step "decode-tx.mjs on an EIP-1559 transaction signed by ethers; the node mines it"
h 0 sign.mjs tx "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":0,\"to\":\"$EVM_ADDR2\",\"value\":\"1000000000000000000\",\"gas_limit\":21000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}"
RAW=$(j .raw)
HASH=$(j .hash)
h 0 decode-tx.mjs "$RAW" --expect-from "$EVM_ADDR1"
eq "$(j .type)" 2 "type"
eq "$(j .chain_id)" 31337 "chain id"
eq "$(j .nonce)" 0 "nonce"
eq "$(j .to)" "$EVM_ADDR2" "to"
eq "$(j .value)" 1000000000000000000 "value"
eq "$(j .hash)" "$HASH" "hash"
eq "$(j '.signature_valid and .canonical and .low_s')" true "signature checks"
echo "$RAW" | evm_node decode-tx.mjs - >out 2>err || fail "decode-tx.mjs - (stdin)"
h 1 decode-tx.mjs "$RAW" --expect-from "$EVM_ADDR0"
eq "$(j .error)" "sender $EVM_ADDR1 is not the expected $EVM_ADDR0" "wrong sender error"
BAD="${RAW:0:$((${#RAW} - 4))}$(printf '%04x' $(((0x${RAW: -4} + 1) % 65536)))" # s + 1
h 1 decode-tx.mjs "$BAD" --expect-from "$EVM_ADDR1"
h 1 decode-tx.mjs 0x02c0
h 1 decode-tx.mjs nothex
h 0 send-raw.mjs "$EVM_RPC" "$RAW"
eq "$(j .hash)" "$HASH" "mined hash"
eq "$(j .status)" 1 "receipt status"
h 0 receipt.mjs - "$HASH"
eq "$(j .from)" "$EVM_ADDR1" "receipt from"
h 1 send-raw.mjs "$EVM_RPC" "$RAW" # replay: nonce too low
h 1 receipt.mjs - 0x0000000000000000000000000000000000000000000000000000000000000001
ok

step "legacy EIP-155 and EIP-2930 transactions"
sign_send "$EVM_KEY1" "{\"type\":0,\"chain_id\":31337,\"nonce\":1,\"to\":\"$EVM_ADDR2\",\"value\":5,\"gas_limit\":21000,\"gas_price\":\"20000000000\"}"
sign_send "$EVM_KEY1" "{\"type\":1,\"chain_id\":31337,\"nonce\":2,\"to\":\"$EVM_ADDR2\",\"value\":6,\"gas_limit\":30000,\"gas_price\":\"20000000000\",\"access_list\":[{\"address\":\"$EVM_TOKEN\",\"storageKeys\":[\"0x0000000000000000000000000000000000000000000000000000000000000001\"]}]}"
ok

step "EIP-155 example (official vector): decode, and ethers re-signs it byte for byte"
jq -r .signed_tx "$VEC/ethereum/eip155.json" >raw155 || fail "no $VEC/ethereum/eip155.json"
h 0 decode-tx.mjs "$(cat raw155)"
eq "$(j .unsigned_hash)" "$(jq -r .signing_hash "$VEC/ethereum/eip155.json")" "EIP-155 signing hash"
eq "$(j .unsigned)" "$(jq -r .signing_data "$VEC/ethereum/eip155.json")" "EIP-155 signing data"
eq "$(j .signature.network_v)" 37 "EIP-155 v"
h 0 sign.mjs tx "$(jq -r .private_key "$VEC/ethereum/eip155.json")" \
    '{"type":0,"chain_id":1,"nonce":9,"gas_price":"20000000000","gas_limit":21000,"to":"0x3535353535353535353535353535353535353535","value":"1000000000000000000","data":"0x"}'
eq "$(j .raw)" "$(cat raw155)" "ethers' RFC 6979 signature of the EIP-155 example"
ok

step "ERC-20 transfer and approve/transferFrom with calldata from calldata.mjs"
h 0 calldata.mjs "transfer(address,uint256)" "$EVM_ADDR3" 1000
eq "$(j .selector)" 0xa9059cbb "transfer selector"
DATA=$(j .data)
h 0 fund.mjs "$EVM_ADDR1" 0 --token "$EVM_TOKEN" --amount 5000
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":3,\"to\":\"$EVM_TOKEN\",\"data\":\"$DATA\",\"gas_limit\":100000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}"
eq "$(j '.logs | length')" 1 "one Transfer event"
h 0 balances.mjs - "$EVM_ADDR3" "$EVM_TOKEN"
eq "$(j .token_balance)" 1000 "recipient's token units"
h 0 calldata.mjs "transfer(address,uint256)" "$EVM_ADDR3" 5000000000000000000000
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":4,\"to\":\"$EVM_TOKEN\",\"data\":\"$(j .data)\",\"gas_limit\":100000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}" 1
h 0 calldata.mjs "approve(address,uint256)" "$EVM_ADDR2" 300
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":5,\"to\":\"$EVM_TOKEN\",\"data\":\"$(j .data)\",\"gas_limit\":100000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}"
h 0 calldata.mjs "transferFrom(address,address,uint256)" "$EVM_ADDR1" "$EVM_ADDR4" 300
TF=$(j .data)
sign_send "$EVM_KEY2" "{\"type\":2,\"chain_id\":31337,\"nonce\":0,\"to\":\"$EVM_TOKEN\",\"data\":\"$TF\",\"gas_limit\":100000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}"
sign_send "$EVM_KEY2" "{\"type\":2,\"chain_id\":31337,\"nonce\":1,\"to\":\"$EVM_TOKEN\",\"data\":\"$TF\",\"gas_limit\":100000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}" 1
h 0 balances.mjs - "$EVM_ADDR4" "$EVM_TOKEN"
eq "$(j .token_balance)" 300 "allowance spent once"
ok

step "ERC-721 safeTransferFrom: to the receiver contract, never to a non-receiver"
h 0 fund.mjs "$EVM_ADDR1" 0 --nft "$EVM_NFT"
ID=$(j .nft_id)
h 0 calldata.mjs "safeTransferFrom(address,address,uint256)" "$EVM_ADDR1" "$EVM_TOKEN" "$ID"
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":6,\"to\":\"$EVM_NFT\",\"data\":\"$(j .data)\",\"gas_limit\":200000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}" 1
h 0 calldata.mjs "safeTransferFrom(address,address,uint256)" "$EVM_ADDR1" "$EVM_NFT_RECEIVER" "$ID"
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":7,\"to\":\"$EVM_NFT\",\"data\":\"$(j .data)\",\"gas_limit\":200000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}"
h 0 balances.mjs - "$EVM_NFT_RECEIVER" - "$EVM_NFT" "$ID"
eq "$(j .nft_owner)" "$EVM_NFT_RECEIVER" "NFT owner after safe transfer"
h 0 calldata.mjs "transferFrom(address,address,uint256)" "$EVM_ADDR1" "$EVM_ADDR2" "$EVM_NFT_ID"
sign_send "$EVM_KEY1" "{\"type\":2,\"chain_id\":31337,\"nonce\":8,\"to\":\"$EVM_NFT\",\"data\":\"$(j .data)\",\"gas_limit\":200000,\"max_fee_per_gas\":\"20000000000\",\"max_priority_fee_per_gas\":\"1000000000\"}" 1
ok

step "verify-message.mjs (EIP-191) against sign.mjs"
h 0 sign.mjs message "$EVM_KEY1" "hello kashguard"
SIG=$(j .signature)
h 0 verify-message.mjs "$EVM_ADDR1" "hello kashguard" "$SIG"
eq "$(j .valid)" true "valid"
eq "$(j .digest)" "$(node -e 'const {ethers}=require(process.argv[1]+"/node_modules/ethers"); console.log(ethers.hashMessage("hello kashguard"))' "$EVM_DIR")" "digest"
echo -n "hello kashguard" | evm_node verify-message.mjs "$EVM_ADDR1" - "$SIG" >out 2>err || fail "message from stdin"
h 1 verify-message.mjs "$EVM_ADDR0" "hello kashguard" "$SIG"
eq "$(j .recovered)" "$EVM_ADDR1" "recovered on mismatch"
h 1 verify-message.mjs "$EVM_ADDR1" "hello kashguarD" "$SIG"
h 1 verify-message.mjs "$EVM_ADDR1" "hello kashguard" 0x1234
h 0 sign.mjs message "$EVM_KEY2" 0xdeadbeef --hex
h 0 verify-message.mjs "$EVM_ADDR2" 0xdeadbeef "$(j .signature)" --hex
h 1 verify-message.mjs "$EVM_ADDR2" 0xdeadbeef "$(evm_node sign.mjs message "$EVM_KEY2" 0xdeadbeef | jq -r .signature)" --hex
ok

step "verify-typed.mjs (EIP-712): the EIP's Ether Mail example"
MAIL="$EVM_DIR/fixtures/eip712_mail.json"
COW=0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826
COW_SIG=0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c
h 0 verify-typed.mjs "$COW" "$MAIL" "$COW_SIG"
eq "$(j .digest)" 0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2 "EIP-712 digest"
eq "$(j .domain_separator)" 0xf2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f "domain separator"
eq "$(j .struct_hash)" 0xc52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e "struct hash"
h 0 sign.mjs typed 0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4 "$MAIL"
eq "$(j .signature)" "$COW_SIG" "ethers' signature of Ether Mail with keccak256('cow')"
h 1 verify-typed.mjs "$EVM_ADDR0" "$MAIL" "$COW_SIG"
jq '.message.contents = "Hello, Eve!"' "$MAIL" >mail-eve.json
h 1 verify-typed.mjs "$COW" mail-eve.json "$COW_SIG"
jq '.types.EIP712Domain |= reverse' "$MAIL" >mail-order.json
h 1 verify-typed.mjs "$COW" mail-order.json "$COW_SIG"
h 0 verify-typed.mjs "$COW" - none <"$MAIL"
echo '{"types":{}}' >bad.json
h 1 verify-typed.mjs "$COW" bad.json none
ok

step "keystore.mjs: encrypt/decrypt round trip and the Web3 Secret Storage vectors"
h 0 keystore.mjs encrypt "$EVM_KEY3" "pa55 word"
cp out ks.json
eq "$(jq -r "(.Crypto // .crypto).kdfparams.n" ks.json)" 1024 "light scrypt N"
h 0 keystore.mjs decrypt ks.json "pa55 word"
eq "$(j .private_key)" "$EVM_KEY3" "round-trip key"
eq "$(j .address)" "$EVM_ADDR3" "round-trip address"
h 1 keystore.mjs decrypt ks.json "wrong"
h 0 keystore.mjs encrypt "$EVM_KEY3" pw --scrypt-n 4096 --scrypt-r 8 --scrypt-p 1
eq "$(j "(.Crypto // .crypto).kdfparams.n")" 4096 "chosen scrypt N"
n=0
# test2 (scrypt N=2^18 with r=1) is refused by ethers (RFC 7914 requires N < 2^(16r)), like OpenSSL.
for name in test1 python_generated_test_with_odd_iv evilnonce mycrypto; do
    jq ".\"$name\".json" "$VEC/ethereum/keystore_basic_tests.json" >vec.json
    h 0 keystore.mjs decrypt vec.json "$(jq -r ".\"$name\".password" "$VEC/ethereum/keystore_basic_tests.json")"
    eq "$(j .private_key)" "0x$(jq -r ".\"$name\".priv" "$VEC/ethereum/keystore_basic_tests.json")" "keystore vector $name"
    n=$((n + 1))
done
echo "   keystore vectors: $n/4 decrypted"
echo '{"not":"a keystore"}' >notks.json
h 1 keystore.mjs decrypt notks.json x
h 2 keystore.mjs frobnicate a b
ok

step "stop the node"
PID=$EVM_PID
evm_stop
kill -0 "$PID" 2>/dev/null && fail "node $PID still running after evm_stop"
curl -s --max-time 2 "$EVM_RPC" >/dev/null && fail "$EVM_RPC still answers"
ok

echo "PASS: evm node harness ($STEP steps)"
echo "$PASSED passed, 0 failed"
