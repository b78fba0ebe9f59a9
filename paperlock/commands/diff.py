"""`paperlock diff OLD NEW`: the manuscript's numbers that changed between two data locks or results files.

OLD and NEW are each a results.json, a lock id (`lock-…`), a lock folder or a lock manifest. A lock is
analysed afresh from its normalised copy with the current study spec and code, so the diff shows what the
data change moved.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", help="results.json, lock id, lock folder or lock manifest")
    parser.add_argument("new", help="results.json, lock id, lock folder or lock manifest")
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.add_argument("--out", default=None, help="write the report to this file (default: standard output)")


def run(args: argparse.Namespace) -> int:
    from paperlock.atomic import atomic_write_text
    from paperlock.diff import diff_results, format_json, format_text, published_places
    from paperlock.spec import load_spec

    loaded = load_spec(args.study)
    old, old_label = _results(loaded, args.old)
    new, new_label = _results(loaded, args.new)
    published = loaded.spec.data.published
    places = published_places(loaded.resolve(published)) if published and loaded.resolve(published).is_file() \
        else {}
    d = diff_results(old, new, loaded.spec.display, old_label, new_label, places)
    text = format_json(d) if args.format == "json" else format_text(d)
    if args.out:
        atomic_write_text(Path(args.out), text)
        print(f"diff: {len(d.changed)} printed numbers changed -> {args.out}")
    else:
        print(text, end="")
    return 0


def _results(loaded, ref: str):  # noqa: ANN001, ANN202 - (LoadedSpec, str) -> (Results, label)
    """Results for a reference: a results.json as it is, a lock analysed from its normalised copy."""
    from analysis.run import compute
    from paperlock.errors import PaperlockError
    from paperlock.lock import find_lock, locked_copy
    from paperlock.results import load_results

    path = Path(ref)
    if path.is_file() and path.suffix == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PaperlockError(f"{path}: not valid JSON ({exc})") from None
        if isinstance(doc, dict) and "statistics" in doc:
            results = load_results(path)
            lock = f", lock {results.meta.lock_id}" if results.meta.lock_id else ""
            return results, f"{path}{lock}"
    manifest = find_lock(loaded, ref)
    return compute(loaded, locked_copy(loaded, manifest)), manifest.lock_id
