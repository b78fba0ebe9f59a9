"""`paperlock lock`: validate the study's cohort and freeze it (normalised copy + manifest with a lock id)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")


def run(args: argparse.Namespace) -> int:
    from paperlock.lock import DEFAULT_MANIFEST, create_lock, manifest_path, relative
    from paperlock.spec import load_spec

    loaded = load_spec(args.study)
    manifest, is_new = create_lock(loaded)
    where = relative(loaded, manifest_path(loaded))
    state = "locked" if is_new else "already locked (same data and dictionary)"
    print(f"lock: {manifest.source.path} {state} as {manifest.lock_id}: {manifest.rows} rows, "
          f"{len(manifest.columns)} columns, sha256 {manifest.source.sha256[:12]}…")
    print(f"lock: normalised copy {manifest.normalised.path}; manifest {where}")
    if not loaded.spec.data.lock:
        print(f"lock: note: study.yaml declares no lock, so results do not enforce it yet; add "
              f"`lock: {DEFAULT_MANIFEST}` under `data:`")
    return 0
