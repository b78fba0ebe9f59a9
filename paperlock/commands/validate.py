"""`paperlock validate [FILE]`: check a data file against the study's data dictionary and spec.

Every problem is listed at once (file, row, column, value); exit status 2 when there is any, 0 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=None,
                        help="data file (.csv, .xlsx, .sav, .parquet; default: the study's cohort)")
    parser.add_argument("--study", default=".", help="study folder holding study.yaml (default: .)")
    parser.add_argument("--dictionary", default=None,
                        help="data dictionary (default: data.dictionary of study.yaml); with --no-spec, required")
    parser.add_argument("--no-spec", action="store_true",
                        help="check against the dictionary alone, without the study spec's rules")


def run(args: argparse.Namespace) -> int:
    from paperlock.data_dictionary import load_dictionary
    from paperlock.errors import PaperlockError
    from paperlock.io import display_path
    from paperlock.problems import ValidationFailed
    from paperlock.spec import load_spec
    from paperlock.validate import study_dictionary, validate_file

    loaded = None if args.no_spec else load_spec(args.study)
    if args.dictionary:
        dictionary = load_dictionary(Path(args.dictionary))
    elif loaded is not None:
        dictionary = study_dictionary(loaded)
    else:
        raise PaperlockError("--no-spec needs --dictionary")
    if args.file:
        path = Path(args.file)
    elif loaded is not None:
        if loaded.spec.data.cohort.startswith("package:"):
            raise PaperlockError(f"data.cohort {loaded.spec.data.cohort!r} is not a file; name a FILE to check")
        path = loaded.resolve(loaded.spec.data.cohort)
    else:
        raise PaperlockError("name the FILE to check")
    outcome = validate_file(path, loaded.spec if loaded else None, dictionary)
    for line in outcome.notes:
        print(f"validate: note: {line}")
    for line in outcome.warnings:
        print(f"validate: warning: data dictionary {line}")
    if not outcome.ok:
        raise ValidationFailed(outcome.problems, outcome.table.description)
    against = [display_path(dictionary.path) if dictionary else "", "the study spec" if loaded else ""]
    print(f"validate: {outcome.table.description}: no problems "
          f"({len(outcome.table.frame.columns)} columns checked against {' and '.join(a for a in against if a)})")
    if loaded is not None and not args.file:
        _print_lock_state(loaded)
    return 0


def _print_lock_state(loaded) -> None:  # noqa: ANN001 - a LoadedSpec
    from paperlock.errors import PaperlockError
    from paperlock.lock import check_lock

    if not loaded.spec.data.lock:
        return
    try:
        manifest = check_lock(loaded)
    except PaperlockError as exc:
        print(f"validate: lock: {exc}")
        return
    if manifest is not None:
        print(f"validate: lock: the data match lock {manifest.lock_id} ({manifest.rows} rows)")
