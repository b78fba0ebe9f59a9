#!/usr/bin/env bash
# Create the project's environment: Debian packages (as root; otherwise print what to install) and .venv.
# Usage: tools/setup_env.sh [--with-r]   (--with-r adds R + survival, used by the reference tests)
set -euo pipefail
cd "$(dirname "$0")/.."

debs=()
have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# WeasyPrint needs Pango; the manuscript sets its fonts explicitly (Liberation, DejaVu as fallback).
# gcc builds the compiled Cox kernel (analysis/stats/_cox_kernel.c); without it small fits use numpy (slower).
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation2 fonts-dejavu-core poppler-utils gcc; do
  have_deb "$pkg" || debs+=("$pkg")
done
if [ "${1:-}" = "--with-r" ]; then
  for pkg in r-base-core r-cran-survival; do have_deb "$pkg" || debs+=("$pkg"); done
fi
if [ ${#debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${debs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
  else
    echo "setup: please install these Debian packages (as root): apt-get install -y ${debs[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo "setup: installing Python dependencies from pyproject.toml"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  # Font caches, built once here rather than by the first report: fontconfig's (Pango/WeasyPrint; a no-op when
  # current) and matplotlib's font list (several seconds on a fresh machine).
  if command -v fc-cache >/dev/null; then fc-cache >/dev/null 2>&1 || true; fi
  .venv/bin/python -c "import matplotlib.font_manager" >/dev/null 2>&1 || true
  touch .venv/.installed
fi
# The compiled kernels (the analysis' Cox fits, the cohort search's Kaplan–Meier steps), cached under .venv/ by
# their sources' hashes (built on first use otherwise; none: numpy, the same numbers, slower).
.venv/bin/python -c "from analysis.stats import cox_kernel; from paperlock.cohort import km_kernel
cox_kernel.load() or print('setup: no C compiler: Cox fits use numpy')
km_kernel.load() or print('setup: no C compiler: the cohort search uses numpy')"
