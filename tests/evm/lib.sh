# shellcheck shell=bash
# Local EVM node for the end-to-end tests (sourced, not run by CTest).
#
# A test that needs an Ethereum node sources this file and calls:
#   evm_setup     install tests/evm's npm packages if needed (npm ci, pinned by
#                 package-lock.json); exit 77 (skip) when node/npm or the npm
#                 registry is unavailable, unless KG_EVM_REQUIRED=1 (then fail)
#   evm_start     start `hardhat node` (EDR) on a free 127.0.0.1 port, wait for
#                 eth_chainId, export EVM_RPC EVM_PID EVM_CHAIN_ID EVM_LOG and the
#                 funded dev accounts (see below); adds evm_stop to the EXIT trap
#   evm_deploy    compile contracts/ (solc-js) and deploy TestToken + TestNFT +
#                 TestNFTReceiver from account 0, mint NFT #1 to account 0;
#                 exports EVM_TOKEN EVM_NFT EVM_NFT_ID EVM_NFT_RECEIVER
#   evm_node SCRIPT ARGS...   run tests/evm/SCRIPT with node (a helper .mjs)
#   evm_rpc METHOD [PARAMS-JSON]   raw JSON-RPC call, prints the "result" JSON
#   evm_stop      stop the node (SIGTERM, wait, SIGKILL) and remove its log dir
#
# Dev accounts (hardhat's mnemonic "test test ... junk", m/44'/60'/0'/0/i, 10000
# ETH each): EVM_MNEMONIC, EVM_KEY0..EVM_KEY4 (0x-hex private keys) and
# EVM_ADDR0..EVM_ADDR4 (checksummed addresses). evm_start checks that the node
# really funds EVM_ADDR0, so a changed default fails loudly.
#
# Works offline: no telemetry prompt, no compiler download (hardhat compiles
# nothing; compile.mjs uses solc-js), and only loopback addresses are used.
set -u

EVM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EVM_PID=
EVM_WORK=

export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
export HARDHAT_HIDE_SOLIDITY_SURVEY_MESSAGE=true
export DO_NOT_TRACK=1

export EVM_CHAIN_ID=31337
export EVM_MNEMONIC="test test test test test test test test test test test junk"
export EVM_KEY0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
export EVM_KEY1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
export EVM_KEY2=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
export EVM_KEY3=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
export EVM_KEY4=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a
export EVM_ADDR0=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
export EVM_ADDR1=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
export EVM_ADDR2=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
export EVM_ADDR3=0x90F79bf6EB2c4f870365E785982E1f101E93b906
export EVM_ADDR4=0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65

_evm_skip() {
    if [ "${KG_EVM_REQUIRED:-0}" = 1 ]; then
        echo "FAIL: $* (KG_EVM_REQUIRED=1)" >&2
        exit 1
    fi
    echo "skip: $*" >&2
    exit 77
}

_evm_fail() { echo "FAIL (evm): $*" >&2; exit 1; }

# The lock file's hash, stored in node_modules after a successful npm ci, so a
# changed package-lock.json triggers a fresh install.
_evm_lock_hash() { sha256sum "$EVM_DIR/package-lock.json" | cut -d' ' -f1; }

evm_setup() {
    command -v node >/dev/null || _evm_skip "node is not installed (tests/evm needs node >= 18)"
    command -v npm >/dev/null || _evm_skip "npm is not installed (tests/evm needs npm)"
    command -v curl >/dev/null || _evm_skip "curl is not installed"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge 18 ] || _evm_skip "node $major is too old (tests/evm needs node >= 18)"

    local stamp="$EVM_DIR/node_modules/.kg-lock-hash"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(_evm_lock_hash)" ] && return 0

    # Several tests may start at once (ctest -j): one installs, the others wait.
    exec 9>"$EVM_DIR/.setup.lock"
    flock -w 900 9 || _evm_fail "timed out waiting for another npm ci in $EVM_DIR"
    if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(_evm_lock_hash)" ]; }; then
        echo "evm: npm ci in $EVM_DIR (hardhat, ethers, solc; ~15 s with a warm cache)" >&2
        local log
        log=$(mktemp "${TMPDIR:-/tmp}/kg-npm-ci.XXXXXX")
        if ! (cd "$EVM_DIR" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) >"$log" 2>&1; then
            if ! npm ping >/dev/null 2>&1; then
                rm -f "$log"
                exec 9>&-
                _evm_skip "npm ci failed and the npm registry is unreachable"
            fi
            sed 's/^/  npm: /' "$log" >&2
            rm -f "$log"
            _evm_fail "npm ci failed in $EVM_DIR (registry reachable; see above)"
        fi
        rm -f "$log"
        _evm_lock_hash >"$stamp"
    fi
    exec 9>&-
}

_evm_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

evm_rpc() {
    local method=$1 params=${2:-[]} body
    body=$(curl -sS --max-time 10 -H 'content-type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$method\",\"params\":$params}" "$EVM_RPC") || return 1
    node -e '
        const r = JSON.parse(process.argv[1]);
        if (r.error) { console.error("rpc error: " + JSON.stringify(r.error)); process.exit(1); }
        console.log(JSON.stringify(r.result));' "$body"
}

_evm_arg3() { printf '%s' "$3"; }

# Prepend evm_stop to whatever EXIT trap the test (or tests/e2e/lib.sh) set.
_evm_trap_exit() {
    local prev old
    prev=$(trap -p EXIT)
    if [ -n "$prev" ]; then
        # `trap -p` prints: trap -- 'HANDLER' EXIT (quoted for eval)
        old=$(eval "_evm_arg3 $prev")
        # shellcheck disable=SC2064  # expand the old handler now, on purpose
        trap "evm_stop; $old" EXIT
    else
        trap evm_stop EXIT
    fi
}

evm_start() {
    [ -d "$EVM_DIR/node_modules/hardhat" ] || _evm_fail "evm_start before evm_setup (no hardhat in $EVM_DIR/node_modules)"
    [ -z "$EVM_PID" ] || _evm_fail "evm_start: a node is already running (pid $EVM_PID)"
    EVM_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kg-evm.XXXXXX")
    export EVM_LOG="$EVM_WORK/node.log"
    _evm_trap_exit
    local port
    for _ in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        _evm_port_busy "$port" && continue
        # exec: EVM_PID is the node process itself (hardhat's CLI does not fork).
        (cd "$EVM_DIR" && exec node "$EVM_DIR/node_modules/hardhat/internal/cli/bootstrap.js" \
            --config "$EVM_DIR/hardhat.config.js" node --hostname 127.0.0.1 --port "$port") \
            >"$EVM_LOG" 2>&1 </dev/null &
        EVM_PID=$!
        export EVM_PID
        export EVM_RPC="http://127.0.0.1:$port"
        for _ in $(seq 1 600); do
            kill -0 "$EVM_PID" 2>/dev/null || break
            if [ "$(evm_rpc eth_chainId 2>/dev/null)" = "\"$(printf '0x%x' "$EVM_CHAIN_ID")\"" ]; then
                local bal
                bal=$(evm_rpc eth_getBalance "[\"$EVM_ADDR0\",\"latest\"]") || _evm_fail "eth_getBalance failed"
                [ "$bal" != '"0x0"' ] || _evm_fail "the node does not fund $EVM_ADDR0 (dev mnemonic changed?)"
                return 0
            fi
            sleep 0.1
        done
        sed 's/^/  node: /' "$EVM_LOG" >&2
        evm_stop_node
    done
    _evm_fail "the hardhat node did not come up (log above)"
}

evm_stop_node() {
    [ -n "$EVM_PID" ] || return 0
    kill -TERM "$EVM_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$EVM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$EVM_PID" 2>/dev/null
    wait "$EVM_PID" 2>/dev/null
    EVM_PID=
}

evm_stop() {
    evm_stop_node
    [ -n "$EVM_WORK" ] && rm -rf "$EVM_WORK"
    EVM_WORK=
    return 0
}

evm_node() {
    local script=$1
    shift
    node "$EVM_DIR/$script" "$@"
}

evm_deploy() {
    evm_node compile.mjs >/dev/null || _evm_fail "compile.mjs failed"
    local out
    out=$(evm_node deploy.mjs --rpc "$EVM_RPC") || _evm_fail "deploy.mjs failed"
    EVM_TOKEN=$(node -p 'JSON.parse(process.argv[1]).token' "$out")
    EVM_NFT=$(node -p 'JSON.parse(process.argv[1]).nft' "$out")
    EVM_NFT_ID=$(node -p 'JSON.parse(process.argv[1]).nft_id' "$out")
    EVM_NFT_RECEIVER=$(node -p 'JSON.parse(process.argv[1]).receiver' "$out")
    export EVM_TOKEN EVM_NFT EVM_NFT_ID EVM_NFT_RECEIVER
}
