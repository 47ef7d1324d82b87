#!/usr/bin/env bash
# Benchmark the REST API of a local dev server.
#
# Exact command (from the repository root; figures in docs/benchmarks.md come from it):
#
#     bench/run.sh
#
# which builds Release into ./build-release (override with KG_BENCH_BUILD_DIR), starts
# `kashguard server --dev --data <temp dir> --listen 127.0.0.1:<free port>`, runs
#
#     KASHGUARD_TOKEN=<root token> bench_http_load --addr http://127.0.0.1:<port> \
#                     --duration 5 --connections 1,8,64
#
# over every scenario (extra arguments are passed on to bench_http_load, e.g.
# `bench/run.sh --duration 10 health encrypt`), then stops the server and removes the
# temp dir. The server's own log goes to <temp dir>/server.log (printed on failure).
#
# KG_BENCH_AUDIT_FSYNC=false runs the server with `audit_fsync = false` (audit entries
# are written but not flushed to disk per batch), to measure what the flush costs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KG_BENCH_BUILD_DIR:-$root/build-release}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DKG_SANITIZE=OFF >/dev/null
cmake --build "$build" --target kashguard bench_http_load -j"$(nproc)" >/dev/null

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kg-bench.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# A free port: bind port 0 and let the kernel choose.
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
addr="http://127.0.0.1:$port"

conf=()
if [ -n "${KG_BENCH_AUDIT_FSYNC:-}" ]; then
  printf 'audit_fsync = %s\n' "$KG_BENCH_AUDIT_FSYNC" >"$tmp/server.conf"
  conf=(--config "$tmp/server.conf")
fi
"$build/kashguard" server --dev "${conf[@]}" --data "$tmp/data" --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server_pid=$!

# Ready when the health endpoint answers 200 (initialised and unsealed).
for _ in $(seq 1 300); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$addr/v1/sys/health" || true)" = 200 ] &&
     [ -s "$tmp/data/root.token" ]; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "bench/run.sh: the server exited during start-up:" >&2; cat "$tmp/server.log" >&2; exit 1
  fi
  sleep 0.1
done
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$addr/v1/sys/health" || true)" != 200 ]; then
  echo "bench/run.sh: the server did not become healthy in 30 s:" >&2; cat "$tmp/server.log" >&2; exit 1
fi

rc=0
# The token goes through the environment, not argv (argv is visible in ps).
KASHGUARD_TOKEN="$(tr -d '[:space:]' <"$tmp/data/root.token")" \
  "$build/bench_http_load" --addr "$addr" --duration 5 --connections 1,8,64 "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "bench/run.sh: bench_http_load exited $rc; server log tail:" >&2
  tail -n 20 "$tmp/server.log" >&2
fi
exit "$rc"
