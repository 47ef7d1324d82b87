#!/usr/bin/env bash
# Interop: what `kashguard wallet` signs and exports, independent
# implementations read back -- offline, no node needed.
#
#   (a) sign-tx --chain eth, types 2, 1 and 0 (EIP-1559, EIP-2930, EIP-155):
#       ethers decodes each, recovers our address and re-encodes the same bytes;
#   (b) ethers signing the same tx with the same key (exported through
#       export-keystore, decrypted by ethers) gives identical raw bytes
#       (RFC 6979 nonces, low s), also for an ERC-20 transfer;
#   (c) sign-message (EIP-191) verifies in ethers and equals ethers' signature;
#   (d) sign-typed-data on the EIP-712 "Ether Mail" example verifies and equals
#       ethers' signature;
#   (e) export-keystore (scrypt and pbkdf2) decrypts in ethers to the same key;
#       an ethers keystore imported with import-keystore gives the same address;
#   (f) a mnemonic from `wallet create` is valid BIP39 for python3-mnemonic
#       (english, checksum) and derives in ethers to our address, also with a
#       BIP39 passphrase;
#   (g) the cosmos address equals @cosmjs's (when tests/chain/interop's
#       packages are installed; otherwise that step says so and is skipped).
# Skips (77) only when node/npm/the npm registry or python3-mnemonic is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
# shellcheck source=tests/evm/lib.sh
. "$SRC/tests/evm/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] && "$PY" -c 'import mnemonic' 2>/dev/null \
    || { echo "skip: python3-mnemonic is not installed (apt-get install python3-mnemonic)" >&2; exit 77; }
evm_setup

PASSED=0
fail() {
    echo "FAIL (step $STEP): $*" >&2
    [ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}
ok() { PASSED=$((PASSED + 1)); }
# h WANT SCRIPT ARGS...: a tests/evm helper, stdout -> $TMP/h.json, assert exit WANT.
h() {
    local want=$1 rc
    shift
    evm_node "$@" >"$TMP/h.json" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want from $1, got $rc: $(head -c 400 "$TMP/h.json")"
}
hf() { jq -r "$1" "$TMP/h.json"; }
out() { cat "$TMP/out"; }
checksum() { (cd "$EVM_DIR" && node -p "require('ethers').getAddress('$1')"); }

export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='interop passphrase'
W=(wallet)
# BIP39 test vector (entropy 0x80..80), 24 words.
MNEMONIC="letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless"
(umask 077 && printf '%s\n' "$MNEMONIC" >"$TMP/mnemonic.txt")
KSPASS="keystore password"
printf '%s' "$KSPASS" >"$TMP/kspass.txt"

step "restore; export the index-0 key through a keystore (scrypt) that ethers decrypts"
run 0 "$KG" "${W[@]}" restore --name bob --mnemonic-file "$TMP/mnemonic.txt"
run 0 "$KG" "${W[@]}" address --name bob --chain eth
ADDR=$(out)
[[ $ADDR =~ ^0x[0-9a-fA-F]{40}$ ]] || fail "address '$ADDR' is not 0x + 40 hex"
run 0 "$KG" "${W[@]}" export-keystore --name bob --kdf scrypt --keystore-password-file "$TMP/kspass.txt" \
    --out "$TMP/ks-scrypt.json"
[ "$(stat -c %a "$TMP/ks-scrypt.json")" = 600 ] || fail "--out file mode $(stat -c %a "$TMP/ks-scrypt.json"), expected 600"
[ "$(jq -r '(.crypto // .Crypto).kdf' "$TMP/ks-scrypt.json")" = scrypt ] || fail "--kdf scrypt wrote $(jq -c '(.crypto // .Crypto).kdf' "$TMP/ks-scrypt.json")"
[ "$(jq -r .version "$TMP/ks-scrypt.json")" = 3 ] || fail "keystore version is not 3"
h 0 keystore.mjs decrypt "$TMP/ks-scrypt.json" "$KSPASS"
[ "$(hf .address)" = "$ADDR" ] || fail "ethers decrypts to $(hf .address), we said $ADDR"
PRIV=$(hf .private_key)
h 1 keystore.mjs decrypt "$TMP/ks-scrypt.json" "wrong password"
ok

step "(e) pbkdf2 keystore on stdout, index 2; ethers decrypts it to our index-2 address"
KASHGUARD_KEYSTORE_PASSWORD="$KSPASS" run 0 "$KG" "${W[@]}" export-keystore --name bob --index 2 --kdf pbkdf2
cp "$TMP/out" "$TMP/ks-pbkdf2.json"
[ "$(jq -r '(.crypto // .Crypto).kdf' "$TMP/ks-pbkdf2.json")" = pbkdf2 ] || fail "--kdf pbkdf2 wrote $(jq -c '(.crypto // .Crypto).kdf' "$TMP/ks-pbkdf2.json")"
run 0 "$KG" "${W[@]}" address --name bob --chain eth --index 2
ADDR2=$(out)
h 0 keystore.mjs decrypt "$TMP/ks-pbkdf2.json" "$KSPASS"
[ "$(hf .address)" = "$ADDR2" ] || fail "pbkdf2 keystore decrypts to $(hf .address), expected $ADDR2"
ok

step "(e) an ethers keystore imports as a single-key wallet with the same address"
KEYX=0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318   # Web3 Secret Storage test key
h 0 keystore.mjs encrypt "$KEYX" "$KSPASS"
cp "$TMP/h.json" "$TMP/ks-ethers.json"
h 0 keystore.mjs decrypt "$TMP/ks-ethers.json" "$KSPASS"
EADDR=$(hf .address)
run 0 "$KG" "${W[@]}" import-keystore --name carol --file "$TMP/ks-ethers.json" --keystore-password-file "$TMP/kspass.txt"
[ "$(out)" = "$EADDR" ] || fail "import-keystore printed '$(out)', ethers says $EADDR"
run 0 "$KG" "${W[@]}" address --name carol --chain eth
[ "$(out)" = "$EADDR" ] || fail "address of the imported wallet '$(out)' != $EADDR"
printf 'nope' >"$TMP/wrongpass.txt"
run 1 "$KG" "${W[@]}" import-keystore --name dave --file "$TMP/ks-ethers.json" --keystore-password-file "$TMP/wrongpass.txt"
grep -q '^Error: ' "$TMP/err" || fail "a wrong keystore password gives no error line"
run 0 "$KG" "${W[@]}" sign-message --name carol --chain eth --message "imported key"
h 0 sign.mjs message "$KEYX" "imported key"
[ "$(out)" = "$(hf .signature)" ] || fail "imported key signs '$(out)', ethers '$(hf .signature)'"
ok

TO=0x3535353535353535353535353535353535353535
step "(a)(b) sign-tx eth types 2, 1, 0: ethers decodes, recovers us, and signs the same bytes"
for t in 2 1 0; do
    fees=(--max-fee-gwei 30)
    [ "$t" = 2 ] && fees+=(--priority-fee-gwei 1.5)
    run 0 "$KG" "${W[@]}" sign-tx --name bob --chain eth --chain-id 1 --tx-type "$t" --nonce 9 \
        --gas-limit 21000 "${fees[@]}" --to "$TO" --amount 1.25
    RAW=$(out)
    [[ $RAW =~ ^0x[0-9a-f]+$ ]] || fail "type $t: sign-tx printed '$RAW'"
    h 0 decode-tx.mjs "$RAW" --expect-from "$ADDR"
    [ "$(hf .type)" = "$t" ] && [ "$(hf .chain_id)" = 1 ] && [ "$(hf .nonce)" = 9 ] \
        && [ "$(hf .value)" = 1250000000000000000 ] && [ "$(hf .gas_limit)" = 21000 ] \
        && [ "$(hf .to)" = "$(checksum "$TO")" ] \
        || fail "type $t decoded as $(jq -c '{type,chain_id,nonce,value,gas_limit,to}' "$TMP/h.json")"
    if [ "$t" = 2 ]; then
        [ "$(hf .max_fee_per_gas)" = 30000000000 ] && [ "$(hf .max_priority_fee_per_gas)" = 1500000000 ] \
            || fail "type 2 fees $(jq -c '{max_fee_per_gas,max_priority_fee_per_gas}' "$TMP/h.json")"
    else
        [ "$(hf .gas_price)" = 30000000000 ] || fail "type $t gas price $(hf .gas_price)"
    fi
    [ "$(hf .signature_valid)" = true ] && [ "$(hf .low_s)" = true ] && [ "$(hf .canonical)" = true ] \
        || fail "type $t: signature not valid/low-s/canonical"
    # The same fields, signed by ethers with the exported key.
    jq '{type, chain_id, nonce, to, value, data, gas_limit, gas_price, max_fee_per_gas,
         max_priority_fee_per_gas, access_list} | with_entries(select(.value != null))' "$TMP/h.json" >"$TMP/tx.json"
    h 0 sign.mjs tx "$PRIV" "$(cat "$TMP/tx.json")"
    [ "$(hf .raw)" = "$RAW" ] || fail "type $t: ethers signs $(hf .raw), we signed $RAW"
done
ok

step "(b) an ERC-20 transfer signed offline equals ethers' bytes"
TOKEN=0x5FbDB2315678afecb367f032d93F642f64180aa3
run 0 "$KG" "${W[@]}" sign-tx --name bob --chain eth --chain-id 31337 --nonce 0 --gas-limit 60000 \
    --max-fee-gwei 2 --priority-fee-gwei 1 --to "$TO" --token "$TOKEN" --amount 1000
RAW=$(out)
h 0 decode-tx.mjs "$RAW" --expect-from "$ADDR"
evm_node calldata.mjs "transfer(address,uint256)" "$TO" 1000 >"$TMP/cd.json" || fail "calldata.mjs failed"
[ "$(hf .data)" = "$(jq -r .data "$TMP/cd.json")" ] || fail "ERC-20 calldata $(hf .data) != $(jq -r .data "$TMP/cd.json")"
[ "$(hf .value)" = 0 ] || fail "an ERC-20 transfer carries value $(hf .value)"
[ "$(hf .to)" = "$(checksum "$TOKEN")" ] || fail "ERC-20 tx not sent to the token"
jq '{type, chain_id, nonce, to, value, data, gas_limit, max_fee_per_gas, max_priority_fee_per_gas}' "$TMP/h.json" >"$TMP/tx.json"
h 0 sign.mjs tx "$PRIV" "$(cat "$TMP/tx.json")"
[ "$(hf .raw)" = "$RAW" ] || fail "ethers signs $(hf .raw), we signed $RAW"
ok

step "(c) sign-message: ethers verifies it and signs the same bytes"
for msg in "Hello, KashGuard" "" "multi
line ✓"; do
    run 0 "$KG" "${W[@]}" sign-message --name bob --chain eth --message "$msg"
    SIG=$(out)
    [[ $SIG =~ ^0x[0-9a-f]{130}$ ]] || fail "sign-message printed '$SIG'"
    [[ ${SIG: -2} =~ ^(1b|1c)$ ]] || fail "v is ${SIG: -2}, expected 1b or 1c"
    h 0 verify-message.mjs "$ADDR" "$msg" "$SIG"
    [ "$(hf .valid)" = true ] || fail "ethers says invalid for '$msg'"
    h 0 sign.mjs message "$PRIV" "$msg"
    [ "$(hf .signature)" = "$SIG" ] || fail "ethers signs '$msg' as $(hf .signature), we $SIG"
done
run 0 "$KG" "${W[@]}" sign-message --name bob --chain eth --message "index two" --index 2
h 0 verify-message.mjs "$ADDR2" "index two" "$(out)"
ok

step "(d) sign-typed-data on EIP-712 Ether Mail: ethers verifies it and signs the same bytes"
MAIL="$EVM_DIR/fixtures/eip712_mail.json"
run 0 "$KG" "${W[@]}" sign-typed-data --name bob --chain eth --file "$MAIL"
SIG=$(out)
[[ $SIG =~ ^0x[0-9a-f]{130}$ ]] || fail "sign-typed-data printed '$SIG'"
h 0 verify-typed.mjs "$ADDR" "$MAIL" "$SIG"
[ "$(hf .valid)" = true ] || fail "ethers says the typed-data signature is invalid"
h 0 sign.mjs typed "$PRIV" "$MAIL"
[ "$(hf .signature)" = "$SIG" ] || fail "ethers signs Ether Mail as $(hf .signature), we $SIG"
printf '{"types":{}}' >"$TMP/bad712.json"
run 1 "$KG" "${W[@]}" sign-typed-data --name bob --chain eth --file "$TMP/bad712.json"
grep -q '^Error: ' "$TMP/err" || fail "bad typed data gives no error line"
ok

# ethers_addr MNEMONIC [PASSPHRASE]: ethers' m/44'/60'/0'/0/0 address.
ethers_addr() {
    (cd "$EVM_DIR" && node --input-type=module -e '
        import { ethers } from "ethers";
        const m = ethers.Mnemonic.fromPhrase(process.argv[1], process.argv[2] || "");
        console.log(ethers.HDNodeWallet.fromMnemonic(m, "m/44'"'"'/60'"'"'/0'"'"'/0/0").address);' "$@")
}

step "(f) wallet create: python3-mnemonic validates the words; ethers derives our address"
[ "$(ethers_addr "$MNEMONIC")" = "$ADDR" ] || fail "restored wallet: ethers derives $(ethers_addr "$MNEMONIC"), we $ADDR"
for words in 24 12 18; do
    args=(--name "new$words")
    [ "$words" = 24 ] || args+=(--words "$words")
    run 0 "$KG" "${W[@]}" create "${args[@]}"
    M=$(out)
    [ "$(wc -w <<<"$M")" = "$words" ] || fail "create printed $(wc -w <<<"$M") words, expected $words"
    grep -qi 'write' "$TMP/err" || fail "create did not warn on stderr to write the mnemonic down"
    "$PY" -c '
import sys
from mnemonic import Mnemonic
m = sys.argv[1]
lang = Mnemonic.detect_language(m)
assert lang == "english", lang
assert Mnemonic(lang).check(m), "checksum"
assert len(Mnemonic(lang).to_seed(m)) == 64' "$M" 2>"$TMP/err" || fail "python3-mnemonic rejects '$M'"
    run 0 "$KG" "${W[@]}" address --name "new$words" --chain eth
    [ "$(out)" = "$(ethers_addr "$M")" ] || fail "created wallet: ours $(out), ethers $(ethers_addr "$M")"
done
run 1 "$KG" "${W[@]}" create --name bad --words 13
run 1 "$KG" "${W[@]}" create --name new24
grep -q '^Error: ' "$TMP/err" || fail "creating an existing wallet name gives no error line"
ok

step "(f) BIP39 passphrase: restore with --bip39-passphrase-file, ethers agrees"
printf 'TREZOR' >"$TMP/bip39pass.txt"
run 0 "$KG" "${W[@]}" restore --name bobp --mnemonic-file "$TMP/mnemonic.txt" --bip39-passphrase-file "$TMP/bip39pass.txt"
run 0 "$KG" "${W[@]}" address --name bobp --chain eth
[ "$(out)" = "$(ethers_addr "$MNEMONIC" TREZOR)" ] || fail "with passphrase: ours $(out), ethers $(ethers_addr "$MNEMONIC" TREZOR)"
[ "$(out)" != "$ADDR" ] || fail "the BIP39 passphrase was ignored"
"$PY" -c '
import sys
from mnemonic import Mnemonic
m = Mnemonic("english")
# The BIP39 vector: this mnemonic with passphrase TREZOR has this seed.
assert m.to_seed(sys.argv[1], "TREZOR").hex().startswith("c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09")' "$MNEMONIC" \
    || fail "python3-mnemonic disagrees with the BIP39 vector for the fixed mnemonic"
ok

step "(g) cosmos address equals @cosmjs's"
COSMJS="$SRC/tests/chain/interop/node_modules/@cosmjs/proto-signing"
if [ -d "$COSMJS" ]; then
    run 0 "$KG" "${W[@]}" address --name bob --chain cosmos
    OURS=$(out)
    REF=$(cd "$SRC/tests/chain/interop" && node -e '
        const { DirectSecp256k1HdWallet } = require("@cosmjs/proto-signing");
        DirectSecp256k1HdWallet.fromMnemonic(process.argv[1]).then((w) => w.getAccounts())
            .then((a) => console.log(a[0].address));' "$MNEMONIC") || fail "@cosmjs failed"
    [ "$OURS" = "$REF" ] || fail "cosmos: ours $OURS, @cosmjs $REF"
    ok
else
    echo "   (skipped: tests/chain/interop has no @cosmjs installed; run npm ci there)"
fi

echo "$PASSED passed, 0 failed"
