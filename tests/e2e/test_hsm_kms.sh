#!/usr/bin/env bash
# End-to-end: the KMS backed by SoftHSM2 tokens through a real
# `kashguard server` (config file, loopback without TLS).
#  a) auto-unseal: `seal "pkcs11"` on token kg-seal; `operator init` once;
#     a restart unseals by itself (seal_type pkcs11); with a wrong PIN file
#     the server stays up but sealed, seal_error names the PIN, and the
#     recovery share from init still unseals it;
#  b) a member kg-a and a one-member group: HSM keys of every spec through
#     the normal API; AES (and RSA) encrypt/decrypt; every signature
#     verified with openssl on the public key from the API;
#  c) pkcs11-tool on the tokens shows each key sensitive and never
#     extractable (the Access line of every key is printed);
#  d) bad input: wrong PIN, missing module, HMAC_256/RSA_4096 as HSM keys,
#     an unsupported mechanism and a removed token (fault module) give clear
#     errors; the server stays up and recovers when the fault goes.
# Each step prints what it checks. Skipped (77) without SoftHSM2/OpenSC.
. "$(dirname "$0")/lib.sh"
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
FAULT=${KG_BUILD_DIR:-$(dirname "$KG")}/libkg_pkcs11_fault.so
command -v openssl >/dev/null || skip "openssl is not installed"
command -v softhsm2-util >/dev/null && [ -f "$SOFTHSM" ] || skip "SoftHSM2 is not installed"
command -v pkcs11-tool >/dev/null || skip "pkcs11-tool (OpenSC) is not installed"
[ -f "$FAULT" ] || skip "$FAULT is not built (target kg_pkcs11_fault)"
cd "$TMP" || exit 1
PIN=kg-e2e-pin-4711 WRONG_PIN=kg-e2e-wrong-9

export SOFTHSM2_CONF=$TMP/softhsm2.conf
mkdir -p tokens
echo "directories.tokendir = $TMP/tokens" > "$SOFTHSM2_CONF"
for t in kg-seal kg-a kg-f; do
    softhsm2-util --init-token --free --label "$t" --pin "$PIN" --so-pin so-pin-5678 >/dev/null || fail "init token $t"
done
printf '%s\n' "$PIN" > good.pin
printf '%s\n' "$WRONG_PIN" > wrong.pin
chmod 600 good.pin wrong.pin
export KG_P11_FAULT_MODULE=$SOFTHSM KG_P11_FAULT_CONTROL=$TMP/faults
# sanitizer builds: suppress SoftHSM2's known leaks in the server (any
# other leak report fails the test at the end)
export LSAN_OPTIONS="suppressions=$KG_SOURCE_DIR/tests/lsan.supp"
# full stacks: SoftHSM2 leaks through libcrypto, which has no frame
# pointers, so a fast unwind stops before naming libsofthsm2.so
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
: > faults
# fault RULES...: replace the fault module's control file atomically
fault() { printf '%s\n' "$@" > faults.new && mv faults.new faults; }
# slot_of LABEL: SoftHSM2's slot id of a token (the fault module forwards it)
slot_of() {
    softhsm2-util --show-slots | awk -v l="$1" '/^Slot [0-9]+/ {s=$2} $1=="Label:" && $2==l {print s; exit}'
}
p11() { pkcs11-tool --module "$SOFTHSM" --token-label "$1" --login --pin "$PIN" --list-objects 2>/dev/null; }

for try in 1 2 3 4 5; do PORT=$((20000 + RANDOM % 40000)); port_busy "$PORT" || break; done
export KASHGUARD_ADDR="http://127.0.0.1:$PORT"
unset KASHGUARD_TOKEN
write_conf() { # write_conf PIN-FILE
    cat > server.conf <<CONF
listen = 127.0.0.1:$PORT
data_dir = $TMP/data
tls_disable = true
seal "pkcs11" {
  module = "$SOFTHSM"
  token_label = "kg-seal"
  pin_file = "$TMP/$1"
  key_label = "kashguard-root-key"
}
hsm {
  probe_interval = 1s
  # RSA-3072 generation in SoftHSM2 can take seconds
  op_timeout = 20s
  down_after_errors = 1
  default_group = "main"
}
CONF
}
# start: the server of server.conf, up when seal-status answers
start() {
    "$KG" server --config server.conf >>"$TMP/server.out" 2>>"$TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        curl -sf "$KASHGUARD_ADDR/v1/sys/seal-status" -o seal.json && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$TMP/server.err" >&2
    fail "the server did not come up"
}
# wait_unsealed SECONDS: poll seal-status until sealed=false
wait_unsealed() {
    for _ in $(seq 1 $(($1 * 10))); do
        curl -sf "$KASHGUARD_ADDR/v1/sys/seal-status" -o seal.json &&
            [ "$(jq -r .sealed seal.json)" = false ] && return 0
        sleep 0.1
    done
    fail "still sealed after $1 s: $(cat seal.json)"
}

# ------------------------------------------------------------ a) auto-unseal
step "start with seal \"pkcs11\" on token kg-seal; operator init (1 recovery share)"
write_conf good.pin
start
[ "$(jq -r .initialized seal.json)" = false ] || fail "fresh data dir reports initialized: $(cat seal.json)"
run 0 "$KG" operator init --shares 1 --threshold 1 --json
cp "$TMP/out" init.json
ROOT=$(jq -r .root_token init.json)
jq -r '.unseal_keys[0]' init.json > share0
[ -s share0 ] && [[ $ROOT == kg.* ]] || fail "init printed no recovery share/root token: $(cat init.json)"
echo "   root key wrapping key on kg-seal:"
p11 kg-seal | grep -A6 'kashguard-root-key' | sed 's/^/     /'
p11 kg-seal | grep -q 'kashguard-root-key' || fail "no 'kashguard-root-key' object on token kg-seal"

step "restart: the server unseals itself from the HSM (seal_type pkcs11)"
stop_server
start
wait_unsealed 30
[ "$(jq -r .seal_type seal.json)" = pkcs11 ] || fail "seal_type: $(cat seal.json)"
echo "   seal-status: $(jq -c '{initialized,sealed,seal_type}' seal.json)"
export KASHGUARD_TOKEN=$ROOT
run 0 "$KG" key create --spec AES_256 --alias soft
printf 'auto-unsealed secret' > pt.txt
run 0 "$KG" encrypt --key soft --plaintext @pt.txt
cp "$TMP/out" soft.ct

step "restart with a wrong PIN file: up, sealed, seal_error names the PIN"
stop_server
write_conf wrong.pin
start
sleep 1
curl -sf "$KASHGUARD_ADDR/v1/sys/seal-status" -o seal.json || fail "seal-status does not answer"
[ "$(jq -r .sealed seal.json)" = true ] || fail "unsealed with a wrong PIN: $(cat seal.json)"
jq -r '.seal_error // ""' seal.json | grep -qi 'pin' || fail "seal_error does not mention the PIN: $(cat seal.json)"
echo "   seal_error: $(jq -r .seal_error seal.json)"
grep -q "$WRONG_PIN" seal.json "$TMP/server.err" "$TMP/server.out" && fail "the wrong PIN appears in output"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KASHGUARD_ADDR/v1/sys/health")" != 000 ] || fail "health does not answer"

step "operator unseal with the recovery share still works"
run 0 "$KG" operator unseal < share0
wait_unsealed 10
run 0 "$KG" decrypt --ciphertext @soft.ct
cmp -s "$TMP/out" pt.txt || fail "decrypt after recovery unseal"

step "restart with the right PIN again (auto-unseal)"
stop_server
write_conf good.pin
start
wait_unsealed 30

# ------------------------------------------------- b) HSM-protected keys
step "bad input: wrong PIN, missing module, unknown token -> clear errors, nothing registered"
run 2 "$KG" hsm add kg-a --module "$SOFTHSM" --token kg-a --pin-file "$TMP/wrong.pin"
grep -qi 'pin' "$TMP/err" || fail "wrong PIN error does not say so: $(cat "$TMP/err")"
echo "   wrong PIN:      $(head -1 "$TMP/err")"
run 2 "$KG" hsm add ghost --module "$TMP/no-such-module.so" --token kg-a --pin-file "$TMP/good.pin"
grep -q 'no-such-module.so' "$TMP/err" || fail "missing module error does not name it: $(cat "$TMP/err")"
echo "   missing module: $(head -1 "$TMP/err")"
run 2 "$KG" hsm add ghost2 --module "$SOFTHSM" --token no-such-token --pin-file "$TMP/good.pin"
grep -q 'no-such-token' "$TMP/err" || fail "unknown token error does not name it: $(cat "$TMP/err")"
echo "   unknown token:  $(head -1 "$TMP/err")"
[ "$(http GET /v1/sys/hsm/members)" = 200 ] || fail "GET /v1/sys/hsm/members: $(cat "$TMP/body")"
[ "$(jq '.members | length' "$TMP/body")" = 0 ] || fail "a failed add registered a member: $(cat "$TMP/body")"

step "register member kg-a and the one-member group main"
run 0 "$KG" hsm add kg-a --module "$SOFTHSM" --token kg-a --pin-file "$TMP/good.pin"
run 0 "$KG" hsm group-create main --members kg-a
run 0 "$KG" hsm list
grep -q 'kg-a' "$TMP/out" || fail "hsm list: $(cat "$TMP/out")"
[ "$(http GET /v1/sys/hsm/members/kg-a)" = 200 ] || fail "member show: $(cat "$TMP/body")"
echo "   kg-a: $(jq -c '{name,state,token,slot:.slot.id}' "$TMP/body")"
grep -q "$PIN" "$TMP/body" && fail "member JSON contains the PIN"

printf 'sign me, HSM' > msg.txt
declare -A KEY
for spec in AES_256 ECC_NIST_P256 ECC_SECG_P256K1 ED25519 RSA_3072; do
    step "$spec: key create --protection hsm"
    run 0 "$KG" key create --spec "$spec" --protection hsm --hsm-group main
    KEY[$spec]=$(head -1 "$TMP/out")
    [[ ${KEY[$spec]} =~ ^k-[0-9a-zA-Z-]+$ ]] || fail "key create printed '${KEY[$spec]}'"
    [ "$(http GET "/v1/keys/${KEY[$spec]}")" = 200 ] || fail "key get: $(cat "$TMP/body")"
    [ "$(jq -r .protection "$TMP/body")" = hsm ] && [ "$(jq -r .hsm_group "$TMP/body")" = main ] ||
        fail "key JSON lacks protection/hsm_group: $(cat "$TMP/body")"
    echo "   ${KEY[$spec]}: $(jq -c '{spec,protection,hsm_group}' "$TMP/body")"
done

step "AES_256 (HSM): encrypt/decrypt round trip, wrong context refused"
run 0 "$KG" encrypt --key "${KEY[AES_256]}" --plaintext @pt.txt --context order=7
cp "$TMP/out" aes.ct
run 0 "$KG" decrypt --ciphertext @aes.ct --context order=7
cmp -s "$TMP/out" pt.txt || fail "HSM AES decrypt differs"
expect_err decryption_failed "$KG" decrypt --ciphertext @aes.ct --context order=8

step "RSA_3072 (HSM): OAEP encrypt/decrypt (or a clear refusal where the token lacks OAEP-SHA-256)"
# SoftHSM2 2.6 does RSA-OAEP with SHA-1 only: there the decrypt must fail
# with wrong_key_usage saying so, never with a wrong plaintext.
if "$KG" encrypt --key "${KEY[RSA_3072]}" --plaintext @pt.txt >rsa.ct 2>rsa.err; then
    if "$KG" decrypt --ciphertext @rsa.ct >rsa.pt 2>rsa.err; then
        cmp -s rsa.pt pt.txt || fail "HSM RSA decrypt differs"
        echo "   RSA-OAEP round trip through the token"
    else
        grep -q 'OAEP.*(wrong_key_usage)' rsa.err || fail "RSA decrypt: $(cat rsa.err)"
        echo "   decrypt refused: $(head -1 rsa.err)"
    fi
else
    grep -q '^Error: ' rsa.err || fail "RSA encrypt failed without an error message"
    echo "   encrypt refused: $(head -1 rsa.err)"
fi

# sign_check SPEC VERIFY-COMMAND...: sign msg.txt, verify with openssl and the API
sign_check() {
    local spec=$1 k=${KEY[$1]}
    shift
    step "$spec (HSM): sign, verify with openssl on the API's public key"
    run 0 "$KG" sign --key "$k" --message @msg.txt --out "$spec.sig"
    [ -s "$spec.sig" ] || fail "sign wrote nothing"
    run 0 "$KG" key public-key "$k"
    cp "$TMP/out" "$spec.pem"
    "$@" > verify.out 2>&1 || { cat verify.out >&2; fail "openssl rejected the $spec HSM signature"; }
    grep -q 'Verified OK\|Signature Verified Successfully' verify.out || fail "openssl said: $(cat verify.out)"
    echo "   openssl: $(head -1 verify.out)"
    run 0 "$KG" verify --key "$k" --message @msg.txt --signature "@$spec.sig"
    printf 'tampered' > other.txt
    run 2 "$KG" verify --key "$k" --message @other.txt --signature "@$spec.sig"
}
sign_check ECC_NIST_P256 openssl dgst -sha256 -verify ECC_NIST_P256.pem -signature ECC_NIST_P256.sig msg.txt
sign_check ECC_SECG_P256K1 openssl dgst -sha256 -verify ECC_SECG_P256K1.pem -signature ECC_SECG_P256K1.sig msg.txt
sign_check ED25519 openssl pkeyutl -verify -pubin -inkey ED25519.pem -rawin -in msg.txt -sigfile ED25519.sig
sign_check RSA_3072 openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -verify RSA_3072.pem -signature RSA_3072.sig msg.txt

# ------------------------------------------------------ c) pkcs11-tool view
step "pkcs11-tool on kg-a: every key is sensitive and never extractable"
p11 kg-a > objects.txt || fail "pkcs11-tool --list-objects on kg-a failed"
for spec in AES_256 ECC_NIST_P256 ECC_SECG_P256K1 ED25519 RSA_3072; do
    # the private/secret object labelled kg/main/<key_id>/1 and its Access line
    access=$(awk -v l="kg/main/${KEY[$spec]}/1" '
        /^(Private|Secret) Key Object/ {inkey=1; lab=""; next}
        /^[A-Z]/ {inkey=0}
        inkey && $1=="label:" {lab=$2}
        inkey && $1=="Access:" && lab==l {sub(/^ *Access: */, ""); print; exit}' objects.txt)
    printf '   %-16s %-40s Access: %s\n' "$spec" "kg/main/${KEY[$spec]}/1" "$access"
    [ -n "$access" ] || { cat objects.txt >&2; fail "no private/secret object for the $spec key on kg-a"; }
    grep -q 'never extractable' <<<"$access" && grep -q 'sensitive' <<<"$access" ||
        fail "$spec key is not sensitive + never extractable: $access"
done

# ------------------------------------------------- d) faults and bad input
step "bad input: HMAC_256 and RSA_4096 with protection hsm -> 400 bad_input"
for spec in HMAC_256 RSA_4096; do
    printf '{"spec":"%s","protection":"hsm","hsm_group":"main"}' "$spec" > req.json
    assert_http 400 bad_input POST /v1/keys req.json
    echo "   $spec: $(jq -r .error.message "$TMP/body")"
done

step "member kg-f through the fault module, group faulty"
SLOT_F=$(slot_of kg-f)
[ -n "$SLOT_F" ] || fail "no slot for kg-f"
run 0 "$KG" hsm add kg-f --module "$FAULT" --token kg-f --pin-file "$TMP/good.pin"
run 0 "$KG" hsm group-create faulty --members kg-f
run 0 "$KG" key create --spec ECC_NIST_P256 --protection hsm --hsm-group faulty
FKEY=$(head -1 "$TMP/out")

step "unsupported mechanism (C_GenerateKeyPair fails CKR_MECHANISM_INVALID on kg-f) -> clear 4xx"
fault "C_GenerateKeyPair fail CKR_MECHANISM_INVALID slot $SLOT_F"
printf '{"spec":"ED25519","protection":"hsm","hsm_group":"faulty"}' > req.json
code=$(http POST /v1/keys req.json)
echo "   HTTP $code: $(jq -c .error "$TMP/body")"
[[ $code == 4?? ]] || fail "expected a 4xx, got $code: $(cat "$TMP/body")"
grep -qi 'mechanism' "$TMP/body" || fail "the error does not name the mechanism problem"
fault
curl -s "$KASHGUARD_ADDR/v1/sys/health" -o /dev/null || fail "server down after the mechanism error"

step "token removed (* fail CKR_TOKEN_NOT_PRESENT on kg-f): sign fails clearly, server stays up"
fault "* fail CKR_TOKEN_NOT_PRESENT slot $SLOT_F"
printf '{"message":"%s"}' "$(printf 'hello' | base64)" > sign.json
code=$(http POST "/v1/keys/$FKEY/sign" sign.json)
echo "   HTTP $code: $(jq -c .error "$TMP/body")"
[ "$code" != 200 ] || fail "signed with the token removed"
grep -q 'faulty\|kg-f' "$TMP/body" || fail "the error names neither the group nor the member"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KASHGUARD_ADDR/v1/sys/health")" = 200 ] || fail "health"
for _ in $(seq 1 100); do
    http GET /v1/sys/hsm/members/kg-f >/dev/null
    [ "$(jq -r .state "$TMP/body")" = down ] && break
    sleep 0.1
done
echo "   kg-f: $(jq -c '{state,reason}' "$TMP/body")"
[ "$(jq -r .state "$TMP/body")" = down ] || fail "kg-f is not down with the token removed"
# the other group is unaffected
run 0 "$KG" sign --key "${KEY[ECC_NIST_P256]}" --message @msg.txt --out p256b.sig

step "token back: after the probe, sign works again and verifies"
fault
ok=
for _ in $(seq 1 150); do
    [ "$(http POST "/v1/keys/$FKEY/sign" sign.json)" = 200 ] && { ok=1; break; }
    sleep 0.2
done
[ -n "$ok" ] || fail "kg-f never came back: $(cat "$TMP/body")"
jq -r .signature "$TMP/body" | base64 -d > f.sig
run 0 "$KG" key public-key "$FKEY"
cp "$TMP/out" f.pem
printf 'hello' > hello.txt
openssl dgst -sha256 -verify f.pem -signature f.sig hello.txt >/dev/null || fail "signature after recovery"
http GET /v1/sys/hsm/members/kg-f >/dev/null
echo "   kg-f: $(jq -c '{state,reason}' "$TMP/body")"

step "metrics: HMS series, seal state and key counts"
[ "$(http GET /v1/sys/metrics)" = 200 ] || fail "GET /v1/sys/metrics: $(head -c 300 "$TMP/body")"
for series in kashguard_hsm_member_up kashguard_hsm_operations_total kashguard_sealed kashguard_keys; do
    grep -q "^$series" "$TMP/body" || fail "metrics lack $series"
done
grep '^kashguard_hsm_member_up\|^kashguard_keys\|^kashguard_sealed' "$TMP/body" | sed 's/^/   /'
stop_server
grep -q "$PIN" "$TMP/server.out" "$TMP/server.err" && fail "a PIN appears in the server output"
# sanitizer builds: memory errors, UB and leaks in the server fail the test
# (SoftHSM2 2.6's own leaks are suppressed by tests/lsan.supp, see
# LSAN_OPTIONS above; server.err collects every run of the server)
grep -q 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$TMP/server.err" &&
    { grep -A40 'ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer' "$TMP/server.err" | head -80 >&2
      fail "sanitizer report in the server's output"; }
echo "PASS: auto-unseal, wrong PIN + recovery, HSM keys of every spec verified by openssl, pkcs11-tool flags, faults"
