#!/usr/bin/env bash
# Rerun tests/reference/reference.R and fail if its output differs from the committed fixtures
# (numbers compared at 1e-9 relative; R/survival version strings ignored). Run from anywhere.
# Exits 0 with a SKIP message when Rscript is not installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v Rscript >/dev/null 2>&1; then
  echo "SKIP: Rscript not found; install R (r-base-core, r-cran-survival) to regenerate the R fixtures" >&2
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$root"
Rscript tests/reference/reference.R "$tmp" >/dev/null
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3
"$python" - "$root/tests/reference/fixtures" "$tmp" <<'PY'
import json, math, sys
from pathlib import Path

committed, fresh = Path(sys.argv[1]), Path(sys.argv[2])
problems = []

def same(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            problems.append(f"{path}: keys differ")
            return
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            problems.append(f"{path}: length {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0):
            problems.append(f"{path}: {a!r} != {b!r}")
    elif a != b:
        problems.append(f"{path}: {a!r} != {b!r}")

names = sorted(p.name for p in committed.glob("*.json"))
if names != sorted(p.name for p in fresh.glob("*.json")):
    problems.append(f"fixture files differ: {names}")
for name in names:
    if (fresh / name).exists():
        same(json.loads((committed / name).read_text())["cases"],
             json.loads((fresh / name).read_text())["cases"], name)
if problems:
    print("R fixtures differ from the committed ones:", *problems[:50], sep="\n  ")
    sys.exit(1)
print(f"R fixtures reproduced: {len(names)} files")
PY
