# Shared helpers for the end-to-end script tests (sourced, not run by CTest).
#
# Each test gets a private temp dir ($TMP), starts its own dev server on a
# free loopback port with start_server DATA_DIR, and is torn down by the EXIT
# trap (SIGTERM, then wait, so the server writes its final audit checkpoint).
# Readiness is polled with `kashguard status` (exit 0 = unsealed) up to a
# generous bound, so the tests do not depend on timing.
#
# run WANT CMD...       run CMD, stdout -> $TMP/out, stderr -> $TMP/err, assert exit WANT
# expect_err CODE CMD... run CMD, assert exit 2 and "(CODE)" on stderr
# http METHOD PATH [BODY-FILE] -> prints the HTTP status, body in $TMP/body
set -u

KG=${KG_BINARY:?KG_BINARY must name the kashguard binary}
# skip WHY: end the test as skipped (CTest counts exit 77 as a skip).
skip() { echo "skip: $*" >&2; exit 77; }
[ -x "$KG" ] || { echo "skip: $KG is not built" >&2; exit 77; }
command -v curl >/dev/null || { echo "skip: curl is not installed" >&2; exit 77; }
command -v jq >/dev/null || { echo "skip: jq is not installed" >&2; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kg-e2e.XXXXXX")
SERVER_PID=
STEP=0

fail() { echo "FAIL (step $STEP): $*" >&2; [ -f "$TMP/err" ] && sed 's/^/  stderr: /' "$TMP/err" >&2; exit 1; }
step() { STEP=$((STEP + 1)); echo "-- $STEP: $*"; }

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

cleanup() { stop_server; rm -rf "$TMP"; }
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_server DATA_DIR [EXTRA SERVER ARGS...]: a dev server on a free port
# (waits up to 60 s); sets PORT, KASHGUARD_ADDR, KASHGUARD_TOKEN, SERVER_PID
# and SERVER_OUT, SERVER_ERR (its output files).
start_server() {
    local data=$1 try i
    shift
    for try in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 40000))
        port_busy "$PORT" && continue
        SERVER_OUT=$TMP/server-$PORT.out SERVER_ERR=$TMP/server-$PORT.err
        "$KG" server --dev --data "$data" --listen "127.0.0.1:$PORT" "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" &
        SERVER_PID=$!
        export KASHGUARD_ADDR="http://127.0.0.1:$PORT"
        for i in $(seq 1 600); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            if [ -s "$data/root.token" ] && "$KG" status >/dev/null 2>&1; then
                KASHGUARD_TOKEN=$(cat "$data/root.token")
                export KASHGUARD_TOKEN
                return 0
            fi
            sleep 0.1
        done
        stop_server
    done
    cat "$TMP"/server-*.err >&2
    fail "the dev server ($*) did not come up"
}

run() {
    local want=$1 rc
    shift
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq "$want" ] || fail "expected exit $want, got $rc from: $*"
}

expect_err() {
    local code=$1
    shift
    run 2 "$@"
    grep -q "^Error: .*($code)\$" "$TMP/err" || fail "expected an error ($code) from: $*"
}

http() {
    local method=$1 path=$2 body=${3:-}
    local args=(-s -o "$TMP/body" -w '%{http_code}' -X "$method" -H "Authorization: Bearer ${KASHGUARD_TOKEN:-}")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "@$body")
    curl "${args[@]}" "$KASHGUARD_ADDR$path"
}

# assert_http WANT_STATUS WANT_CODE METHOD PATH [BODY-FILE]
assert_http() {
    local want=$1 code=$2 got
    shift 2
    got=$(http "$@")
    [ "$got" = "$want" ] || fail "expected HTTP $want, got $got for $*: $(head -c 300 "$TMP/body")"
    [ "$(jq -r .error.code "$TMP/body")" = "$code" ] || fail "expected code $code for $*: $(head -c 300 "$TMP/body")"
    [ -n "$(jq -r '.error.message // empty' "$TMP/body")" ] || fail "no error message for $*"
}
