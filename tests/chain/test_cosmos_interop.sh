#!/usr/bin/env bash
# Interop: KashGuard's cosmos bytes against @cosmjs/proto-signing (an independent
# implementation). chain_test_cosmos writes its fixed transaction's bytes
# when KG_COSMOS_DUMP is set; interop/cosmos_check.js rebuilds them with the
# npm package and compares. Skips (77) only when npm or the package cannot
# be installed. The packages are pinned by interop/package-lock.json.
set -u
dir="${KG_SOURCE_DIR:?}/tests/chain/interop"
bin="${KG_BUILD_DIR:?}/chain_test_cosmos"
. "$dir/setup.sh"
interop_setup "$dir"
if [ ! -x "$bin" ]; then
    echo "FAIL: $bin is not built (cmake --build <dir> --target chain_test_cosmos)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! KG_COSMOS_DUMP="$tmp/dump" "$bin" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    echo "FAIL: chain_test_cosmos failed"
    exit 1
fi
node "$dir/cosmos_check.js" "$tmp/dump"
