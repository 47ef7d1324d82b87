#!/usr/bin/env bash
# Interop: KashGuard's solana bytes against @solana/web3.js (an independent
# implementation). chain_test_solana writes its fixed transaction's bytes
# when KG_SOLANA_DUMP is set; interop/solana_check.js rebuilds them with the
# npm package and compares. Skips (77) only when npm or the package cannot
# be installed. The packages are pinned by interop/package-lock.json.
set -u
dir="${KG_SOURCE_DIR:?}/tests/chain/interop"
bin="${KG_BUILD_DIR:?}/chain_test_solana"
. "$dir/setup.sh"
interop_setup "$dir"
if [ ! -x "$bin" ]; then
    echo "FAIL: $bin is not built (cmake --build <dir> --target chain_test_solana)"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! KG_SOLANA_DUMP="$tmp/dump" "$bin" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    echo "FAIL: chain_test_solana failed"
    exit 1
fi
node "$dir/solana_check.js" "$tmp/dump"
