# Sourced by the chain interop scripts: install this folder's pinned npm
# packages once. Both interop tests may start at the same moment under
# `ctest -j`, and `npm ci` deletes node_modules before it installs, so the
# install runs under a lock and is marked complete only when it finished.
# Exits 77 (skip) when node/npm or the registry is unavailable.
interop_setup() {
    local dir=$1
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "SKIP: node/npm not installed"
        exit 77
    fi
    exec 9>"$dir/.setup.lock"
    flock -w 900 9 || { echo "FAIL: timed out waiting for another npm ci in $dir"; exit 1; }
    if [ ! -f "$dir/node_modules/.kg-installed" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.kg-installed" ]; then
        if ! (cd "$dir" && npm ci --no-audit --no-fund >/dev/null 2>&1); then
            echo "SKIP: 'npm ci' in $dir failed (is the npm registry reachable?)"
            exit 77
        fi
        touch "$dir/node_modules/.kg-installed"
    fi
    flock -u 9
}
