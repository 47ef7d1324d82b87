#!/usr/bin/env bash
# Keeps docs/api/openapi.yaml true: every route in the server's route table
# (src/server/router.c) is documented with the same method, and the document
# names no route the server does not have.
set -euo pipefail
src="${KG_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
  echo "SKIP: python3-yaml is not installed (scripts/deps installs it)"; exit 77
fi
/usr/bin/python3 - "$src" <<'PY'
import re, sys, yaml
src = sys.argv[1]
table = set()
for m in re.finditer(r'\{\s*"(GET|POST|PUT|DELETE|PATCH)",\s*"(/v1/[^"]*)"', open(src + "/src/server/router.c").read()):
    table.add((m.group(1), m.group(2)))
doc = yaml.safe_load(open(src + "/docs/api/openapi.yaml"))
documented = set()
for path, item in doc["paths"].items():
    for method in item:
        if method in ("get", "post", "put", "delete", "patch"):
            documented.add((method.upper(), path))
missing = sorted(table - documented)
extra = sorted(documented - table)
for m, p in missing: print(f"not documented in openapi.yaml: {m} {p}")
for m, p in extra: print(f"documented but not served: {m} {p}")
print(f"{len(table)} routes served, {len(documented)} documented")
sys.exit(1 if missing or extra or not table else 0)
PY
