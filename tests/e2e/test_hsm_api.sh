# End-to-end: the server's HSM fleet over REST and the CLI, with real
# SoftHSM2 tokens in a private token dir.
#
# A dev server (config `hsm { ... }` block) gets three tokens kg-a, kg-b,
# kg-c registered with `kashguard hsm add` (a PIN file and a PIN variable
# of the server's environment); a wrong PIN, a missing module, an unknown
# token and an unreadable PIN file are clear errors that register nothing
# while the server keeps answering. Then: list, show (mechanisms, free
# space), a group of the three, an HSM-protected P-256 key in it, a
# signature through the CLI checked by the server and by openssl, metrics,
# a restart (members and group come back from the store and are healthy
# again, the key still signs), a wrong PIN at a restart (kg-d's PIN file
# changed: down, never retried, the reason says how to get out) and member
# removal (refused while in a group; the record goes, so a restart does not
# bring it back; added again with the right PIN it is healthy), and the
# hsm_event audit entries.
. "$KG_SOURCE_DIR/tests/e2e/lib.sh"

P11=/usr/lib/softhsm/libsofthsm2.so
[ -f "$P11" ] || skip "SoftHSM2 is not installed ($P11)"
command -v softhsm2-util >/dev/null || skip "softhsm2-util is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"

cd "$TMP" || exit 1
PIN=kg7391pin # distinctive, to look for it where it must not be
mkdir -p tokens
export SOFTHSM2_CONF=$TMP/softhsm2.conf
echo "directories.tokendir = $TMP/tokens" > "$SOFTHSM2_CONF"
for t in kg-a kg-b kg-c kg-d; do
    softhsm2-util --init-token --free --label "$t" --pin "$PIN" --so-pin 5678 >/dev/null || fail "cannot make token $t"
done
printf '%s\n' "$PIN" > pin
printf '9999\n' > wrong.pin
chmod 600 pin wrong.pin
export KG_TEST_HSM_PIN=$PIN # the server inherits it (pin_env)
# sanitizer builds: SoftHSM2's known leaks are suppressed; any other leak,
# memory error or UB report in a server's output fails the test (checked
# after every stop: a restart may reuse the output file)
export LSAN_OPTIONS="suppressions=$KG_SOURCE_DIR/tests/lsan.supp"
# full stacks: SoftHSM2 leaks through libcrypto, which has no frame
# pointers, so a fast unwind stops before naming libsofthsm2.so
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
stop_checked() {
    stop_server
    if grep -q 'ERROR: LeakSanitizer\|ERROR: AddressSanitizer\|runtime error:' "$SERVER_ERR"; then
        grep -A40 'ERROR: LeakSanitizer\|ERROR: AddressSanitizer\|runtime error:' "$SERVER_ERR" | head -80 >&2
        fail "sanitizer report in the server's output ($SERVER_ERR)"
    fi
}
cat > kg.conf <<EOF
hsm {
  probe_interval = 500ms
  op_timeout = 5s
  down_after_errors = 3
  default_group = "main"
}
EOF

start_server "$TMP/data" --config "$TMP/kg.conf"

health_ok() { [ "$(http GET /v1/sys/health)" = 200 ] || fail "the server stopped answering /v1/sys/health after: $1"; }
members() { "$KG" hsm list --json | jq -r '[.members[].name] | sort | join(",")'; }

step "wrong PIN -> 400 bad_input naming the token, nothing registered"
expect_err bad_input "$KG" hsm add --module "$P11" --token kg-a --pin-file "$TMP/wrong.pin"
grep -qi "pin" "$TMP/err" || fail "the error does not say the PIN is wrong: $(cat "$TMP/err")"
grep -q "kg-a" "$TMP/err" || fail "the error does not name the token: $(cat "$TMP/err")"
grep -q 9999 "$TMP/err" && fail "the error shows the PIN"
echo "   $(cat "$TMP/err")"
health_ok "wrong PIN"
[ "$(members)" = "" ] || fail "a member was registered after a wrong PIN: $(members)"

step "missing module -> not_found naming it"
expect_err not_found "$KG" hsm add --module "$TMP/no-such-module.so" --token kg-a --pin-file "$TMP/pin"
grep -q "no-such-module.so" "$TMP/err" || fail "the error does not name the module: $(cat "$TMP/err")"
health_ok "missing module"

step "unknown token -> not_found naming it"
expect_err not_found "$KG" hsm add --module "$P11" --token kg-zz --pin-file "$TMP/pin"
grep -q "kg-zz" "$TMP/err" || fail "the error does not name the token: $(cat "$TMP/err")"
health_ok "unknown token"

step "unreadable PIN file, unknown field, both PIN sources -> 400"
expect_err bad_input "$KG" hsm add --module "$P11" --token kg-a --pin-file "$TMP/nope.pin"
printf '{"module":"%s","token":"kg-a","pin_file":"%s","pin":"x"}' "$P11" "$TMP/pin" > b.json
assert_http 400 bad_input POST /v1/sys/hsm/members b.json
printf '{"module":"%s","token":"kg-a","pin_file":"%s","pin_env":"KG_TEST_HSM_PIN"}' "$P11" "$TMP/pin" > b.json
assert_http 400 bad_input POST /v1/sys/hsm/members b.json
[ "$(members)" = "" ] || fail "a member was registered by a bad request: $(members)"

step "hsm add kg-a, kg-b (PIN files), kg-c (PIN variable)"
run 0 "$KG" hsm add --module "$P11" --token kg-a --pin-file "$TMP/pin"
grep -q "kg-a" "$TMP/out" || fail "hsm add does not print the member"
run 0 "$KG" hsm add --module "$P11" --token kg-b --pin-file pin # relative: made absolute by the CLI
run 0 "$KG" hsm add --json --module "$P11" --token kg-c --pin-env KG_TEST_HSM_PIN
[ "$(jq -r .name out)" = kg-c ] || fail "hsm add --json: $(cat out)"
expect_err conflict "$KG" hsm add --module "$P11" --token kg-a --pin-file "$TMP/pin"
[ "$(members)" = "kg-a,kg-b,kg-c" ] || fail "members: $(members)"
grep -rqa "$PIN" "$TMP/data" && fail "the PIN is stored in the data dir"

step "hsm list / show: state, mechanisms, free space"
run 0 "$KG" hsm list
grep -q "kg-b" out || fail "hsm list: $(cat out)"
run 0 "$KG" hsm show kg-a --json
jq -e '.mechanisms | index("CKM_ECDSA")' out >/dev/null || fail "show has no CKM_ECDSA: $(head -c 400 out)"
# SoftHSM2 says CK_UNAVAILABLE_INFORMATION: the fields are there, null.
jq -e '.slot | has("free_private_memory") and has("free_public_memory") and has("total_private_memory")' out \
    >/dev/null || fail "show has no free space fields: $(head -c 600 out)"
echo "   kg-a: $(jq -r '.slot.manufacturer + " " + .slot.model' out), $(jq '.mechanisms | length' out) mechanisms"
expect_err not_found "$KG" hsm show kg-nope

step "group-create main of the three members"
run 0 "$KG" hsm group-create main --members kg-a,kg-b,kg-c
run 0 "$KG" hsm groups --json
jq -e '.groups[] | select(.name == "main") | .members | length == 3' out >/dev/null || fail "groups: $(cat out)"
expect_err conflict "$KG" hsm group-create main --members kg-a
expect_err not_found "$KG" hsm group-create other --members kg-a,kg-nope

step "key create --protection hsm in the group; HMAC_256 is refused"
run 0 "$KG" key create --spec ECC_NIST_P256 --protection hsm --hsm-group main --alias hsm-signer
KEY=$(cat out)
run 0 "$KG" key get "$KEY" --json
[ "$(jq -r .protection out)" = hsm ] || fail "key protection: $(cat out)"
[ "$(jq -r .hsm_group out)" = main ] || fail "key hsm_group: $(cat out)"
expect_err bad_input "$KG" key create --spec HMAC_256 --protection hsm
expect_err bad_input "$KG" key create --spec AES_256 --protection vault

step "sign through the CLI; the server and openssl verify"
printf 'release 1.2.3' > msg.txt
run 0 "$KG" sign --key hsm-signer --message @msg.txt --out msg.sig
run 0 "$KG" verify --key hsm-signer --message @msg.txt --signature @msg.sig
run 0 "$KG" key public-key hsm-signer --out pub.pem
openssl dgst -sha256 -verify pub.pem -signature msg.sig msg.txt >/dev/null ||
    fail "openssl does not verify the HSM signature"

step "GET /v1/sys/metrics: HSM operations per member, key counts, seal state"
[ "$(http GET /v1/sys/metrics)" = 200 ] || fail "metrics: $(head -c 300 body)"
cp body metrics.txt
for m in kg-a kg-b kg-c; do
    grep -q "^kashguard_hsm_member_up{member=\"$m\"" metrics.txt || fail "no kashguard_hsm_member_up for $m"
    grep -q "^kashguard_hsm_operations_total{member=\"$m\"" metrics.txt ||
        fail "no kashguard_hsm_operations_total for $m"
done
grep -q '^kashguard_keys{protection="hsm"} 1$' metrics.txt || fail "kashguard_keys{protection=\"hsm\"} is not 1"
grep -q '^kashguard_sealed 0$' metrics.txt || fail "kashguard_sealed is not 0"
grep -q '^kashguard_http_requests_total{method="POST",route="/v1/sys/hsm/members"}' metrics.txt ||
    fail "no HTTP request counter for POST /v1/sys/hsm/members"
ctype=$(curl -s -o /dev/null -w '%{content_type}' -H "Authorization: Bearer $KASHGUARD_TOKEN" \
    "$KASHGUARD_ADDR/v1/sys/metrics")
case $ctype in text/plain*) ;; *) fail "metrics content type: $ctype" ;; esac
[ "$(curl -s -o /dev/null -w '%{http_code}' "$KASHGUARD_ADDR/v1/sys/metrics")" = 401 ] ||
    fail "metrics without a token is not 401"
grep '^kashguard_hsm_operations_total' metrics.txt | sed 's/^/   /' | head -6

step "restart: members and group come back from the store, healthy, the key still signs"
stop_checked
start_server "$TMP/data" --config "$TMP/kg.conf"
[ "$(members)" = "kg-a,kg-b,kg-c" ] || fail "members after restart: $(members)"
healthy=0
for _ in $(seq 1 300); do
    healthy=$("$KG" hsm list --json | jq '[.members[] | select(.state == "healthy")] | length')
    [ "$healthy" = 3 ] && break
    sleep 0.1
done
[ "$healthy" = 3 ] || fail "members not healthy after restart: $("$KG" hsm list --json)"
run 0 "$KG" hsm groups --json
jq -e '.groups[] | select(.name == "main")' out >/dev/null || fail "group main lost at restart: $(cat out)"
run 0 "$KG" sign --key hsm-signer --message @msg.txt --out msg2.sig
openssl dgst -sha256 -verify pub.pem -signature msg2.sig msg.txt >/dev/null ||
    fail "openssl does not verify the signature made after the restart"

member_field() { "$KG" hsm list --json | jq -r --arg m "$1" ".members[] | select(.name == \$m) | .$2"; }
wait_member_state() {
    for _ in $(seq 1 300); do
        [ "$(member_field "$1" state)" = "$2" ] && return 0
        sleep 0.1
    done
    fail "member $1 is not $2: $("$KG" hsm list --json)"
}

step "wrong PIN at a restart -> down, not retried, the reason says how to get out"
printf '%s\n' "$PIN" > d.pin
chmod 600 d.pin
run 0 "$KG" hsm add --module "$P11" --token kg-d --pin-file "$TMP/d.pin"
printf '9999\n' > d.pin # the operator changed the PIN file (wrongly) before a restart
stop_checked
start_server "$TMP/data" --config "$TMP/kg.conf"
wait_member_state kg-d down
reason=$(member_field kg-d reason)
echo "   kg-d: $reason"
case $reason in
    *'remove it with `kashguard hsm remove kg-d` and add it again with the right PIN'*) ;;
    *) fail "the wrong-PIN reason does not say how to get out: $reason" ;;
esac
grep -qi "pin" <<< "$reason" || fail "the reason does not say the PIN is wrong: $reason"

step "hsm remove: refused in a group, unknown is not_found, kg-d goes (and stays gone at a restart)"
expect_err conflict "$KG" hsm remove kg-a
grep -q "main" "$TMP/err" || fail "the conflict does not name the group: $(cat "$TMP/err")"
expect_err not_found "$KG" hsm remove kg-nope
run 0 "$KG" hsm remove kg-d
grep -q "kg-d" out || fail "hsm remove does not say what it removed: $(cat out)"
[ "$(members)" = "kg-a,kg-b,kg-c" ] || fail "members after remove: $(members)"
expect_err not_found "$KG" hsm show kg-d
assert_http 404 not_found DELETE /v1/sys/hsm/members/kg-d
stop_checked
start_server "$TMP/data" --config "$TMP/kg.conf"
[ "$(members)" = "kg-a,kg-b,kg-c" ] || fail "a removed member came back at restart: $(members)"

step "add kg-d again with the right PIN -> healthy"
printf '%s\n' "$PIN" > d.pin
run 0 "$KG" hsm add --module "$P11" --token kg-d --pin-file "$TMP/d.pin"
wait_member_state kg-d healthy
[ "$(members)" = "kg-a,kg-b,kg-c,kg-d" ] || fail "members: $(members)"

step "the audit log has the HSM events"
run 0 "$KG" audit list --limit 1000
grep '"hsm_event"' out > events.txt || fail "no hsm_event entries in the audit log"
grep -q '"group_created"' events.txt || fail "no group_created event: $(head -c 600 events.txt)"
grep -q '"member":"kg-' events.txt || grep -q '"member": "kg-' events.txt || fail "events name no member"
echo "   $(wc -l < events.txt) hsm_event entries"
grep -rqa "$PIN" "$TMP/data" "$SERVER_ERR" "$SERVER_OUT" && fail "the PIN is in the data dir or the server's output"
stop_checked
echo "PASS"
