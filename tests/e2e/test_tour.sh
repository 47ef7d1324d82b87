# End-to-end: the README's 5-minute tour against a real dev server, checking
# each step's output, plus signature interop with plain openssl for every
# asymmetric spec, rotation, offline audit verification and a restart on the
# same data dir (dev data survives).
. "$KG_SOURCE_DIR/tests/e2e/lib.sh"
command -v openssl >/dev/null || { echo "skip: openssl is not installed" >&2; exit 77; }

DATA=$TMP/data
cd "$TMP" || exit 1
start_server "$DATA"

step "status reports an unsealed server"
run 0 "$KG" status
grep -q '^sealed  *false$' out || fail "status: $(cat out)"

step "create an AES_256 key aliased payments"
run 0 "$KG" key create --spec AES_256 --alias payments
PAY_ID=$(cat out)
[[ $PAY_ID =~ ^k-[0-9a-zA-Z-]+$ ]] || fail "key create printed '$PAY_ID', not a key id alone"

step "encrypt a file bound to order=42"
printf 'card 4111-1111-1111-1111' > secret.txt
run 0 "$KG" encrypt --key payments --plaintext @secret.txt --context order=42
cp out secret.ct
[ "$(wc -l < secret.ct)" -eq 1 ] && base64 -d secret.ct >/dev/null 2>&1 || fail "encrypt did not print one base64 line"

step "decrypt with the same context gives identical bytes"
run 0 "$KG" decrypt --ciphertext @secret.ct --context order=42
cmp -s out secret.txt || fail "decrypted bytes differ"

step "decrypt with order=43 fails with decryption_failed"
expect_err decryption_failed "$KG" decrypt --ciphertext @secret.ct --context order=43
[ ! -s out ] || fail "a failed decrypt printed something on stdout"

# sign_and_check SPEC ALIAS VERIFY-COMMAND... : the signature must verify with openssl
sign_and_check() {
    local spec=$1 alias=$2
    shift 2
    step "$spec: create, sign secret.txt, verify with openssl"
    run 0 "$KG" key create --spec "$spec" --alias "$alias"
    run 0 "$KG" sign --key "$alias" --message @secret.txt --out "$alias.sig"
    [ -s "$alias.sig" ] || fail "sign --out wrote nothing"
    run 0 "$KG" key public-key "$alias"
    cp out "$alias.pem"
    grep -q 'BEGIN PUBLIC KEY' "$alias.pem" || fail "public-key did not print a PEM"
    "$@" > verify.out 2>&1 || { cat verify.out >&2; fail "openssl rejected the $spec signature"; }
    grep -q 'Verified OK\|Signature Verified Successfully' verify.out || fail "openssl said: $(cat verify.out)"
    run 0 "$KG" verify --key "$alias" --message @secret.txt --signature "@$alias.sig"
    printf 'tampered' > other.txt
    run 2 "$KG" verify --key "$alias" --message @other.txt --signature "@$alias.sig"
}
sign_and_check ECC_NIST_P256 signer \
    openssl dgst -sha256 -verify signer.pem -signature signer.sig secret.txt
sign_and_check ECC_SECG_P256K1 btc \
    openssl dgst -sha256 -verify btc.pem -signature btc.sig secret.txt
sign_and_check ED25519 ed \
    openssl pkeyutl -verify -pubin -inkey ed.pem -rawin -in secret.txt -sigfile ed.sig
sign_and_check RSA_3072 rsa \
    openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -verify rsa.pem -signature rsa.sig secret.txt

step "sign a digest (hex) verifies like the message"
DIGEST=$(openssl dgst -sha256 -r secret.txt | cut -d' ' -f1)
run 0 "$KG" sign --key signer --digest "$DIGEST" --out digest.sig
openssl dgst -sha256 -verify signer.pem -signature digest.sig secret.txt >/dev/null || fail "digest signature"

step "rotate payments: old ciphertext decrypts, new encrypt uses version 2"
run 0 "$KG" key rotate payments
grep -q '^current_version  *2$' out || fail "rotate output: $(cat out)"
run 0 "$KG" decrypt --ciphertext @secret.ct --context order=42
cmp -s out secret.txt || fail "old ciphertext no longer decrypts after rotation"
run 0 "$KG" encrypt --json --key payments --plaintext hello
[ "$(jq -r .version out)" = 2 ] || fail "new encrypt used version $(jq -r .version out)"
[ "$(jq -r .key_id out)" = "$PAY_ID" ] || fail "encrypt --json key_id"

step "key get shows the metadata"
run 0 "$KG" key get payments
grep -q "^key_id  *$PAY_ID\$" out && grep -q '^alias  *payments$' out || fail "key get: $(cat out)"

step "audit verify (offline) says OK"
run 0 "$KG" audit verify "$DATA"
grep -Eq '^audit log OK: [0-9]+ entries, [0-9]+ checkpoints$' out || fail "audit verify: $(cat out)"

step "a modified audit entry is reported as TAMPERED (exit 2)"
cp "$DATA/audit.log" forged.log
sed -i '3s/"action":"[a-z-]*"/"action":"forged"/' forged.log
run 2 "$KG" audit verify forged.log
grep -q '^audit log TAMPERED at entry seq 3 (line 3): ' out || fail "tamper report: $(cat out)"
run 2 "$KG" audit verify --json forged.log
[ "$(jq -r .ok out)" = false ] && [ "$(jq -r .first_bad_seq out)" = 3 ] || fail "tamper report JSON: $(cat out)"

step "restart on the same data dir: the old key still decrypts"
stop_server
run 0 "$KG" audit verify "$DATA"
grep -Eq '^audit log OK: [0-9]+ entries, [1-9][0-9]* checkpoints$' out || fail "no checkpoint after shutdown: $(cat out)"
start_server "$DATA"
run 0 "$KG" decrypt --ciphertext @secret.ct --context order=42
cmp -s out secret.txt || fail "decrypt after restart"
run 0 "$KG" key get "$PAY_ID"
grep -q '^current_version  *2$' out || fail "rotation lost across restart"

echo "PASS: tour ($STEP steps)"
