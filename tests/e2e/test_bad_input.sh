# End-to-end: bad input is refused with the right error code and changes
# nothing. Every failing request is followed by a check that the key list
# (and where it matters the key's state) is exactly as before.
. "$KG_SOURCE_DIR/tests/e2e/lib.sh"

DATA=$TMP/data
cd "$TMP" || exit 1
start_server "$DATA"

run 0 "$KG" key create --spec AES_256 --alias payments
run 0 "$KG" encrypt --key payments --plaintext 'hello' --context order=42
cp out good.ct

snapshot() { "$KG" key list --json --limit 1000 | jq -S '[.keys[] | {key_id, alias, state, current_version}]' > "$TMP/keys.now"; }
unchanged() { snapshot; cmp -s "$TMP/keys.before" "$TMP/keys.now" || fail "key list changed after: $1"; }
snapshot
cp keys.now keys.before

step "malformed JSON -> 400 bad_json"
printf '{"spec": "AES_256",' > bad.json
assert_http 400 bad_json POST /v1/keys bad.json
unchanged "malformed JSON"

step "wrong types -> 400 bad_input naming the field"
printf '{"spec": 5}' > wrong.json
assert_http 400 bad_input POST /v1/keys wrong.json
jq -r .error.message body | grep -q spec || fail "message does not name 'spec': $(cat body)"
printf '{"plaintext": 42}' > wrong.json
assert_http 400 bad_input POST /v1/keys/payments/encrypt wrong.json
printf '{"plaintext": "not base64!"}' > wrong.json
assert_http 400 bad_input POST /v1/keys/payments/encrypt wrong.json
unchanged "wrong types"

step "unknown field -> 400 bad_input naming it"
printf '{"spec":"AES_256","alias":"typo","colour":"red"}' > unk.json
assert_http 400 bad_input POST /v1/keys unk.json
jq -r .error.message body | grep -q colour || fail "message does not name 'colour': $(cat body)"
unchanged "unknown field"

step "oversized body -> 413 too_large"
{ printf '{"plaintext":"'; head -c 1600000 /dev/zero | base64 -w0; printf '"}'; } > big.json
assert_http 413 too_large POST /v1/keys/payments/encrypt big.json
unchanged "oversized body"

step "unknown path -> 404, wrong method -> 405"
assert_http 404 not_found GET /v1/nowhere
assert_http 405 method_not_allowed DELETE /v1/keys
unchanged "bad routes"

step "bad spec through the CLI -> bad_input"
expect_err bad_input "$KG" key create --spec AES_512 --alias nope
unchanged "bad spec"

step "alias already taken -> conflict"
expect_err conflict "$KG" key create --spec AES_256 --alias payments
unchanged "duplicate alias"

step "unknown key -> not_found"
expect_err not_found "$KG" encrypt --key no-such-key --plaintext x
expect_err not_found "$KG" key get k-00000000000000000000000
unchanged "unknown key"

step "disabled key -> key_disabled, then enable works"
run 0 "$KG" key disable payments
snapshot; cp keys.now keys.before
expect_err key_disabled "$KG" encrypt --key payments --plaintext x
expect_err key_disabled "$KG" decrypt --ciphertext @good.ct --context order=42
unchanged "use of a disabled key"
run 0 "$KG" key enable payments
run 0 "$KG" encrypt --key payments --plaintext x

step "pending deletion key -> key_pending_deletion, cancel brings it back"
run 0 "$KG" key schedule-deletion payments --waiting-period 7d
grep -q '^state  *pending_deletion$' out || fail "schedule-deletion state: $(cat out)"
expect_err bad_input "$KG" key schedule-deletion payments --waiting-period 1s
snapshot; cp keys.now keys.before
expect_err key_pending_deletion "$KG" encrypt --key payments --plaintext x
expect_err key_pending_deletion "$KG" key rotate payments
unchanged "use of a key pending deletion"
run 0 "$KG" key cancel-deletion payments
run 0 "$KG" key enable payments
run 0 "$KG" decrypt --ciphertext @good.ct --context order=42
[ "$(cat out)" = hello ] || fail "decrypt after cancel-deletion"
snapshot; cp keys.now keys.before

step "wrong context -> decryption_failed"
expect_err decryption_failed "$KG" decrypt --ciphertext @good.ct --context order=43
expect_err decryption_failed "$KG" decrypt --ciphertext @good.ct
[ ! -s out ] || fail "failed decrypt wrote to stdout"
printf '{"ciphertext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' > junk.json
got=$(http POST /v1/decrypt junk.json)
[ "$got" = 400 ] || [ "$got" = 404 ] || fail "junk ciphertext gave HTTP $got"
unchanged "wrong context"

step "local value errors exit 1 without a request"
run 1 "$KG" decrypt --ciphertext 'not*base64'
run 1 "$KG" encrypt --key payments --plaintext x --context order
run 1 "$KG" encrypt --key payments --plaintext @/nonexistent/file
unchanged "local errors"

step "wrong token -> 401 unauthenticated"
GOOD=$KASHGUARD_TOKEN
KASHGUARD_TOKEN=kg.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
assert_http 401 unauthenticated GET /v1/keys
expect_err unauthenticated "$KG" key create --spec AES_256 --alias sneaky
KASHGUARD_TOKEN=
assert_http 401 unauthenticated POST /v1/keys unk.json
KASHGUARD_TOKEN=$GOOD
unchanged "wrong token"

step "sealed server -> 503 sealed, unseal with dev-unseal.key, works again"
run 0 "$KG" operator seal
run 2 "$KG" status
grep -q '^sealed  *true$' out || fail "status while sealed: $(cat out)"
expect_err sealed "$KG" encrypt --key payments --plaintext x
printf '{"plaintext":"eA=="}' > pt.json
assert_http 503 sealed POST /v1/keys/payments/encrypt pt.json
expect_err sealed "$KG" key create --spec AES_256 --alias while-sealed
[ "$(http GET /v1/sys/health)" = 503 ] || fail "health while sealed"
expect_err bad_unseal_key "$KG" operator unseal <<< 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
run 0 "$KG" operator unseal --reset
run 0 "$KG" operator unseal < "$DATA/dev-unseal.key"
grep -q '^sealed  *false$' out || fail "unseal output: $(cat out)"
run 0 "$KG" decrypt --ciphertext @good.ct --context order=42
[ "$(cat out)" = hello ] || fail "decrypt after unseal"
unchanged "sealed period"

step "the audit log is intact"
run 0 "$KG" audit verify "$DATA"

echo "PASS: bad input ($STEP steps)"
