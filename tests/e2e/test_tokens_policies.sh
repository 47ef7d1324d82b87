# End-to-end: a narrow policy and token. The token may encrypt with keys
# matching "payments*" and nothing else; every denial is a 403
# permission_denied with a message, is audited as a response entry carrying
# that error, and revoking the token makes it 401.
. "$KG_SOURCE_DIR/tests/e2e/lib.sh"

DATA=$TMP/data
cd "$TMP" || exit 1
start_server "$DATA"
ROOT=$KASHGUARD_TOKEN

step "keys and a ciphertext made as root"
run 0 "$KG" key create --spec AES_256 --alias payments
run 0 "$KG" key create --spec AES_256 --alias payments-eu
run 0 "$KG" key create --spec AES_256 --alias other
run 0 "$KG" encrypt --key payments --plaintext secret
cp out root.ct

step "write a policy allowing encrypt on payments* only"
cat > enc.json <<'JSON'
{"name":"payments-encrypt","rules":[{"keys":["payments*"],"actions":["encrypt"]}]}
JSON
run 0 "$KG" policy write enc.json
run 0 "$KG" policy list
grep -qx payments-encrypt out || fail "policy list: $(cat out)"
run 0 "$KG" policy read payments-encrypt
[ "$(jq -r '.rules[0].keys[0]' out)" = 'payments*' ] || fail "policy read: $(cat out)"
printf '{"name":"broken","rules":[' > broken.json
run 1 "$KG" policy write broken.json

step "create a token carrying it"
run 0 "$KG" token create --policy payments-encrypt --ttl 1h --json
APP=$(jq -r .token out)
ACCESSOR=$(jq -r .accessor out)
[[ $APP == kg.* ]] && [ -n "$ACCESSOR" ] && [ "$ACCESSOR" != null ] || fail "token create: $(cat out)"
run 0 "$KG" token create --policy payments-encrypt --ttl 1h
[[ $(cat out) == kg.* ]] && [ "$(wc -l < out)" -eq 1 ] || fail "token create did not print the token alone"

DENIALS=0
denied() { expect_err permission_denied "$@"; DENIALS=$((DENIALS + 1))
           grep -q '^Error: ..* (permission_denied)$' "$TMP/err" || fail "denial without a message"; }

step "the token encrypts with payments and payments-eu"
export KASHGUARD_TOKEN=$APP
run 0 "$KG" encrypt --key payments --plaintext hello
run 0 "$KG" encrypt --key payments-eu --plaintext hello

step "decrypt is denied (403 permission_denied with a message)"
denied "$KG" decrypt --ciphertext @root.ct
printf '{"ciphertext":"%s"}' "$(cat root.ct)" > dec.json
assert_http 403 permission_denied POST /v1/keys/payments/decrypt dec.json
DENIALS=$((DENIALS + 1))

step "another key and other actions are denied"
denied "$KG" encrypt --key other --plaintext hello
denied "$KG" key list
denied "$KG" key create --spec AES_256 --alias payments-new
denied "$KG" key rotate payments
denied "$KG" policy write enc.json

step "as root: nothing changed, root still decrypts"
export KASHGUARD_TOKEN=$ROOT
run 0 "$KG" key get payments
grep -q '^current_version  *1$' out || fail "a denied rotate changed the key"
expect_err not_found "$KG" key get payments-new
run 0 "$KG" decrypt --ciphertext @root.ct
[ "$(cat out)" = secret ] || fail "root decrypt"

step "revoke the token by accessor -> 401"
run 0 "$KG" token revoke "$ACCESSOR"
export KASHGUARD_TOKEN=$APP
expect_err unauthenticated "$KG" encrypt --key payments --plaintext hello
printf '{"plaintext":"aGk="}' > pt.json
assert_http 401 unauthenticated POST /v1/keys/payments/encrypt pt.json

step "every denial is in the audit log as a response with error permission_denied"
export KASHGUARD_TOKEN=$ROOT
run 0 "$KG" audit list --limit 1000 --json
N=$(jq '[.entries[] | select(.type == "response" and .error == "permission_denied" and .status == 403)] | length' out)
[ "$N" -ge "$DENIALS" ] || fail "audit has $N permission_denied responses, expected >= $DENIALS"
N401=$(jq '[.entries[] | select(.type == "response" and .status == 401)] | length' out)
[ "$N401" -ge 2 ] || fail "audit has $N401 unauthenticated responses, expected >= 2"
run 0 "$KG" audit hash "$ACCESSOR"
H=$(cat out)
run 0 "$KG" audit list --limit 1000
grep -q "\"accessor\":\"$H\"" out || fail "no request entry carries the app token's accessor HMAC $H"
grep -q "$APP" out && fail "the audit log contains a token in clear"
grep -q "$ACCESSOR" out && fail "the audit log contains an accessor in clear"
run 0 "$KG" audit verify "$DATA"

echo "PASS: tokens and policies ($STEP steps, $DENIALS denials)"
