#!/usr/bin/env bash
# Interop: the wallet's Bitcoin addresses and PSBT signing against an
# independent implementation (@scure/bip39, @scure/bip32, @scure/btc-signer;
# pinned in tests/btc/package-lock.json, helper tests/btc/btc.mjs).
#
#   - `wallet address --chain btc` for P2WPKH (BIP84), P2TR (BIP86),
#     P2SH-P2WPKH (BIP49) and P2PKH (BIP44) on mainnet, testnet, signet and
#     regtest equals scure's derivation from the same mnemonic (and the BIP84
#     and BIP86 official vectors for "abandon ... about");
#   - scure builds a PSBT spending fake P2WPKH, P2TR, P2SH-P2WPKH and P2PKH
#     UTXOs of the wallet, with bip32Derivation / tapBip32Derivation fields
#     carrying our master fingerprint and paths; `wallet psbt sign` signs it;
#     scure verifies every signature against its own BIP143/BIP341/legacy
#     sighash, finalizes and extracts; `--extract` gives the same txid, and
#     its witnesses and scriptSigs verify too;
#   - a PSBT of another wallet signs nothing; bad base64 or a non-PSBT is
#     refused with exit 1 and a clear message.
# Skips (77) only when node/npm or the npm registry is unavailable.
set -u
SRC=${KG_SOURCE_DIR:?KG_SOURCE_DIR must name the source tree}
# shellcheck source=tests/e2e/lib.sh
. "$SRC/tests/e2e/lib.sh"
BTC_DIR="$SRC/tests/btc"

PASSED=0
fail() {
    echo "FAIL (step $STEP): $*" >&2
    [ -s "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2
    echo "$PASSED passed, 1 failed"
    exit 1
}
ok() { PASSED=$((PASSED + 1)); }
out() { cat "$TMP/out"; }

. "$BTC_DIR/lib.sh"
# b WANT ARGS...: node tests/btc/btc.mjs ARGS, stdout -> $TMP/b.json, assert exit WANT.
b() {
    local want=$1 rc
    shift
    node "$BTC_DIR/btc.mjs" "$@" >"$TMP/b.json" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want from btc.mjs $1, got $rc: $(head -c 400 "$TMP/b.json")"
}
bf() { jq -r "$1" "$TMP/b.json"; }

btc_setup
export KASHGUARD_WALLET_KDF=fast
export KASHGUARD_WALLET_DIR="$TMP/wallets"
export KASHGUARD_WALLET_PASSPHRASE='btc interop passphrase'
W=(wallet)
# The mnemonic of the BIP84/BIP86 test vectors.
printf 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about\n' >"$TMP/m.txt"
# Another wallet, to check that its inputs are not ours.
printf 'zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong\n' >"$TMP/other.txt"

step "restore; fingerprint equals scure's"
run 0 "$KG" "${W[@]}" restore --name sat --mnemonic-file "$TMP/m.txt"
b 0 fingerprint "$TMP/m.txt"
FP=$(bf .fingerprint)
[ "$FP" = 73c5da0a ] || fail "scure's fingerprint $FP is not the vector's 73c5da0a"
run 0 "$KG" "${W[@]}" list --json
jq -e --arg fp "$FP" '[.. | objects | select(.name? == "sat") | .fingerprint] | map(ascii_downcase) | index($fp) != null' \
    "$TMP/out" >/dev/null || fail "wallet list --json does not give sat fingerprint $FP: $(head -c 300 "$TMP/out")"
ok

step "official vectors: BIP84 and BIP86 first addresses"
run 0 "$KG" "${W[@]}" address --name sat --chain btc
[ "$(out)" = bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu ] || fail "BIP84 m/84'/0'/0'/0/0: $(out)"
run 0 "$KG" "${W[@]}" address --name sat --chain btc --type p2tr
[ "$(out)" = bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr ] || fail "BIP86 m/86'/0'/0'/0/0: $(out)"
ok

step "addresses of every type and network equal scure's (indexes 0, 1 and 7)"
n=0
for idx in 0 1 7; do
    b 0 addresses "$TMP/m.txt" "$idx"
    cp "$TMP/b.json" "$TMP/ref.json"
    for net in mainnet testnet signet regtest; do
        refnet=$net; [ "$net" = signet ] && refnet=testnet
        for type in p2wpkh p2tr p2sh-p2wpkh p2pkh; do
            run 0 "$KG" "${W[@]}" address --name sat --chain btc --type "$type" --network "$net" --index "$idx"
            want=$(jq -r --arg n "$refnet" --arg t "$type" '.[$n][$t]' "$TMP/ref.json")
            [ "$(out)" = "$want" ] || fail "$type $net index $idx: ours $(out), scure $want"
            n=$((n + 1))
        done
    done
done
echo "   $n addresses agree"
run 0 "$KG" "${W[@]}" address --name sat --chain btc --path "m/84'/0'/0'/0/7"
[ "$(out)" = "$(jq -r .mainnet.p2wpkh "$TMP/ref.json")" ] || fail "--path m/84'/0'/0'/0/7 differs from --index 7"
run 1 "$KG" "${W[@]}" address --name sat --chain btc --type p2xx
grep -q '^Error: ' "$TMP/err" || fail "an unknown --type gives no error line"
ok

# sign_check NETWORK: scure makes a PSBT, we sign it, scure verifies + finalizes;
# --extract must give the same transaction id with valid signatures.
sign_check() {
    local net=$1 psbt signed
    b 0 make-psbt "$TMP/m.txt" "$net"
    psbt=$(bf .psbt)
    [ "$(bf .fingerprint)" = "$FP" ] || fail "make-psbt used fingerprint $(bf .fingerprint)"
    run 0 "$KG" "${W[@]}" psbt sign --name sat --psbt "$psbt" --network "$net"
    signed=$(out)
    [[ $signed =~ ^cHNidP8 ]] || fail "psbt sign printed '$(head -c 80 "$TMP/out")', expected a base64 PSBT"
    b 0 finalize "$signed"
    [ "$(bf '.verified | join(",")')" = "p2wpkh,p2tr,p2sh-p2wpkh,p2pkh" ] || fail "scure verified only: $(bf .verified)"
    local txid hex
    txid=$(bf .txid) hex=$(bf .hex)
    printf '%s\n' "$psbt" >"$TMP/psbt.b64"
    run 0 "$KG" "${W[@]}" psbt sign --name sat --psbt-file "$TMP/psbt.b64" --network "$net" --extract
    [[ $(out) =~ ^(0x)?[0-9a-f]+$ ]] || fail "--extract printed '$(head -c 80 "$TMP/out")', expected tx hex"
    b 0 verify-tx "$(out)" "$psbt"
    [ "$(bf .txid)" = "$txid" ] || fail "--extract txid $(bf .txid), scure's $txid"
    [ "$(bf '.verified | length')" = 4 ] || fail "extracted tx: verified $(bf .verified)"
    # ECDSA is deterministic (RFC 6979): where BIP340 aux randomness does not
    # enter, our extracted bytes equal scure's -- report, not required.
    [ "${hex}" = "$(out | sed 's/^0x//')" ] && echo "   $net: extracted tx byte-identical to scure's" \
        || echo "   $net: extracted tx bytes differ from scure's (BIP340 signatures take fresh aux randomness); same txid, every signature verified"
}

step "PSBT (testnet): we sign P2WPKH, P2TR, P2SH-P2WPKH and P2PKH inputs; scure verifies, finalizes, extracts"
sign_check testnet
ok

step "PSBT (mainnet) the same"
sign_check mainnet
ok

step "--finalize gives a PSBT scure can extract without changes"
b 0 make-psbt "$TMP/m.txt" regtest
P=$(bf .psbt)
run 0 "$KG" "${W[@]}" psbt sign --name sat --psbt "$P" --network regtest --finalize
b 0 extract "$(out)"
b 0 verify-tx "$(bf .hex)" "$P"
[ "$(bf '.verified | length')" = 4 ] || fail "finalized PSBT: verified $(bf .verified)"
ok

step "a PSBT of another wallet: nothing signed, exit 1"
b 0 make-psbt "$TMP/other.txt" testnet
run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt "$(bf .psbt)" --network testnet
grep -q '^Error: ' "$TMP/err" || fail "no error line when no input belongs to the wallet"
ok

step "bad PSBTs: exit 1 with a clear message"
run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt 'not base64 at all!!' --network testnet
grep -q '^Error: ' "$TMP/err" || fail "bad base64: no 'Error: ' line"
grep -qi 'psbt\|base64' "$TMP/err" || fail "bad base64: the message does not say what is wrong"
sed 's/^/   /' "$TMP/err"
run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt "$(printf 'hello world, not a psbt' | base64 -w0)" --network testnet
grep -qi 'psbt' "$TMP/err" || fail "not a PSBT: the message does not mention the PSBT"
b 0 make-psbt "$TMP/m.txt" testnet
TRUNC=$(bf .psbt | base64 -d | head -c 100 | base64 -w0)
run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt "$TRUNC" --network testnet
grep -q '^Error: ' "$TMP/err" || fail "truncated PSBT: no 'Error: ' line"
run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt-file "$TMP/does-not-exist" --network testnet
grep -q '^Error: ' "$TMP/err" || fail "missing --psbt-file: no 'Error: ' line"
KASHGUARD_WALLET_PASSPHRASE=wrong run 1 "$KG" "${W[@]}" psbt sign --name sat --psbt "$(bf .psbt)" --network testnet
grep -qi 'passphrase' "$TMP/err" || fail "wrong passphrase: the message does not mention it"
ok

echo "$PASSED passed, 0 failed"
