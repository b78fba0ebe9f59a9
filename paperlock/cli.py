"""The `paperlock` command line: one entry point, one subcommand per pipeline stage.

Each subcommand lives in its own module and is imported only when it runs, so `paperlock --help`
stays fast and does not pay for pandas, lifelines or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from paperlock.errors import PaperlockError

# name -> (module, one-line help). Each module exposes `add_arguments(parser)` and `run(args) -> int`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "results": ("paperlock.commands.results", "compute every statistic into results.json"),
    "report": ("paperlock.commands.report", "render the manuscript (HTML, PDF, DOCX, Quarto .qmd) from results.json"),
    "audit-paper": ("paperlock.audit.paper", "audit the published record for internal consistency"),
    "audit": ("paperlock.audit.reproduction", "audit every published number against results.json"),
    "validate": ("paperlock.commands.validate", "check a data file against the data dictionary and study spec"),
    "lock": ("paperlock.commands.lock", "validate and freeze the study's data (normalised copy + manifest)"),
    "diff": ("paperlock.commands.diff", "which printed numbers changed between two locks or results files"),
}


def _load(name: str):
    module_name, _ = SUBCOMMANDS[name]
    return importlib.import_module(module_name)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paperlock",
        description="Locked study data in, publication-ready manuscript out; every number computed and audited.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (_, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _load(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    run: Callable[[argparse.Namespace], int] = _load(args.command).run
    try:
        return int(run(args) or 0)
    except PaperlockError as exc:
        print(f"paperlock {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
