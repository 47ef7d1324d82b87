# Sourced by the Bitcoin end-to-end tests (tests/e2e/test_wallet_btc*.sh).
# btc_setup: npm ci in tests/btc when node_modules is missing or older than
# the lock file (a hash stamp); flock so that parallel tests install once.
# Uses the caller's BTC_DIR, TMP, skip and fail.
btc_setup() {
    command -v node >/dev/null || skip "node is not installed (tests/btc needs node >= 20)"
    command -v npm >/dev/null || skip "npm is not installed"
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || skip "node is older than 20"
    local stamp="$BTC_DIR/node_modules/.kg-lock-hash" want
    want=$(sha256sum "$BTC_DIR/package-lock.json" | cut -d' ' -f1)
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
    exec 8>"$BTC_DIR/.setup.lock"
    flock -w 600 8 || fail "timed out waiting for another npm ci in $BTC_DIR"
    if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
        echo "btc: npm ci in $BTC_DIR (@scure/btc-signer, bip32, bip39)" >&2
        if ! (cd "$BTC_DIR" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) >"$TMP/npm.log" 2>&1; then
            npm ping >/dev/null 2>&1 || skip "npm ci failed and the npm registry is unreachable"
            sed 's/^/  npm: /' "$TMP/npm.log" >&2
            fail "npm ci failed in $BTC_DIR (registry reachable; see above)"
        fi
        echo "$want" >"$stamp"
    fi
    exec 8>&-
}
