#!/usr/bin/env bash
# End to end through the CLI's standalone coordinator (`kashguard mpc ...
# --ca-dir`): three `mpc-node` processes on 127.0.0.1.
#
#   frost-secp256k1-tr 2-of-3 by `mpc keygen`; `mpc sign` plain, --taproot
#   (BIP86) and --taproot --merkle-root: every signature is checked with an
#   independent BIP340 verifier, @noble/curves (tests/btc/node_modules; the
#   BIP341 output key computed there too: lift_x(P) + hash_TapTweak(P||mr)G),
#   and must fail under the wrong key; bad --merkle-root input is refused.
#   `mpc status --ca-dir`: all nodes up with their share counts; after
#   kill -9 of node 2 it is shown down (with why) and the others up, and
#   --json says the same; nodes 1 and 3 still sign.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mpc_lib.sh"
command -v jq >/dev/null || { echo "skip: jq is not installed" >&2; exit 77; }
BTC=${KG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/btc
BTC_DIR=$BTC
# shellcheck source=tests/btc/lib.sh
. "$BTC_DIR/lib.sh"
btc_setup # npm ci in tests/btc (its lockfile) when needed; skips only without node/npm or a registry

# bip340_verify XONLY_HEX MSG_FILE SIG_B64 [tweak [MERKLE_HEX]]: exit 0 iff noble accepts.
VERIFY_JS='
import { schnorr, secp256k1 } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE, hexToBytes } from "@noble/curves/utils.js";
import { readFileSync } from "node:fs";
const [pubHex, msgFile, sigB64, mode, mrHex] = process.argv.slice(1);
const x = hexToBytes(pubHex), msg = new Uint8Array(readFileSync(msgFile));
const sig = new Uint8Array(Buffer.from(sigB64, "base64"));
let key = x;
if (mode === "tweak") {
  const t = schnorr.utils.taggedHash("TapTweak", x, ...(mrHex ? [hexToBytes(mrHex)] : []));
  const Q = schnorr.utils.lift_x(bytesToNumberBE(x)).add(secp256k1.Point.BASE.multiply(bytesToNumberBE(t)));
  key = Q.toBytes(true).slice(1);
}
process.exit(sig.length === 64 && schnorr.verify(sig, msg, key) ? 0 : 3);
'
bip340_verify() { (cd "$BTC" && node --input-type=module -e "$VERIFY_JS" "$@"); }

step "ca-init, three nodes, a frost-secp256k1-tr 2-of-3 key"
run 0 "$KG" mpc ca-init --dir "$D"
for i in 1 2 3; do run 0 "$KG" mpc node-cert --ca-dir "$D" --id "$i" --out "$TMP/node$i"; done
for i in 1 2 3; do mpc_start_node "$i"; done
NODES="$(mpc_addr 1),$(mpc_addr 2),$(mpc_addr 3)"
run 0 "$KG" mpc keygen --ca-dir "$D" --nodes "$NODES" --threshold 2 --scheme frost-secp256k1-tr --json
KID=$(jq -r .key_id "$TMP/out")
PUB=$(jq -r .public_key "$TMP/out" | base64 -d | xxd -p -c 64)
[ ${#PUB} -eq 64 ] || fail "the public key of a frost-secp256k1-tr key is not 32 bytes x-only: $PUB"
head -c 32 /dev/urandom >"$TMP/msg"
MR=$(head -c 32 /dev/urandom | xxd -p -c 64)

step "mpc sign: plain BIP340 under the internal key"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg"
SIG=$(cat "$TMP/out")
bip340_verify "$PUB" "$TMP/msg" "$SIG" || fail "noble rejects the plain BIP340 signature"
bip340_verify "$PUB" "$TMP/msg" "$SIG" tweak && fail "a plain signature verifies under the BIP86 key"
printf 'x' >>"$TMP/msg.bad"; cat "$TMP/msg" >>"$TMP/msg.bad"
bip340_verify "$PUB" "$TMP/msg.bad" "$SIG" && fail "the signature verifies for another message"

step "mpc sign --taproot: the BIP86 output key"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" --taproot --json
SIG=$(jq -r .signature "$TMP/out")
[ "$(jq -r .key_id "$TMP/out")" = "$KID" ] || fail "the JSON names another key"
bip340_verify "$PUB" "$TMP/msg" "$SIG" tweak || fail "noble rejects the BIP86 key-path signature"
bip340_verify "$PUB" "$TMP/msg" "$SIG" && fail "a tweaked signature verifies under the internal key"

step "mpc sign --taproot --merkle-root: the output key of a script tree"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" --taproot --merkle-root "$MR"
SIG=$(cat "$TMP/out")
bip340_verify "$PUB" "$TMP/msg" "$SIG" tweak "$MR" || fail "noble rejects the script-tree key-path signature"
bip340_verify "$PUB" "$TMP/msg" "$SIG" tweak && fail "verifies under the BIP86 key, not the script tree's"

step "bad --merkle-root / --taproot input is refused"
run 1 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" --taproot --merkle-root abcd
grep -q "64 hex digits" "$TMP/err" || fail "short merkle root: $(cat "$TMP/err")"
run 1 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" --merkle-root "$MR"
grep -q "needs --taproot" "$TMP/err" || fail "merkle root without --taproot: $(cat "$TMP/err")"

step "mpc status --ca-dir: every node up, each with one share"
run 0 "$KG" mpc status --ca-dir "$D"
for i in 1 2 3; do
    grep -Eq "^$i +127\.0\.0\.1:${NODE_PORT[$i]} +up +[0-9.]+ +1( |$)" "$TMP/out" || fail "node $i not up: $(cat "$TMP/out")"
done
grep -q "^3 of 3 nodes up" "$TMP/out" || fail "summary: $(cat "$TMP/out")"

step "kill -9 node 2: status shows it down, the others up; 1 and 3 still sign"
mpc_kill_node 2
run 0 "$KG" mpc status --ca-dir "$D"
grep -Eq "^2 +127\.0\.0\.1:${NODE_PORT[2]} +down +- +- +.+" "$TMP/out" || fail "node 2 not down with a reason: $(cat "$TMP/out")"
for i in 1 3; do grep -Eq "^$i +[^ ]+ +up " "$TMP/out" || fail "node $i not up: $(cat "$TMP/out")"; done
grep -q "^2 of 3 nodes up" "$TMP/out" || fail "summary: $(cat "$TMP/out")"
run 0 "$KG" mpc status --ca-dir "$D" --json
[ "$(jq -c '[.nodes[] | {id, up}]' "$TMP/out")" = '[{"id":1,"up":true},{"id":2,"up":false},{"id":3,"up":true}]' ] ||
    fail "JSON status: $(cat "$TMP/out")"
[ -n "$(jq -r '.nodes[] | select(.id == 2) | .error' "$TMP/out")" ] || fail "no reason for node 2 being down"
run 0 "$KG" mpc sign --ca-dir "$D" --key "$KID" --message "@$TMP/msg" --taproot
bip340_verify "$PUB" "$TMP/msg" "$(cat "$TMP/out")" tweak || fail "noble rejects the signature of nodes 1 and 3"

step "restart node 2: up again"
mpc_start_node 2
run 0 "$KG" mpc status --ca-dir "$D"
grep -q "^3 of 3 nodes up" "$TMP/out" || fail "summary after the restart: $(cat "$TMP/out")"

echo "PASS"
