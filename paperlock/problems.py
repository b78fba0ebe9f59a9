"""A data problem found while reading or validating a file: file, row, column, value and what is wrong.

Problems are collected, never raised one by one, so a user sees every problem of a file at once.
`ValidationFailed` carries them to the CLI as one message (exit status 2, no traceback).
"""

from __future__ import annotations

from dataclasses import dataclass

from paperlock.errors import PaperlockError

MAX_SHOWN = 200


@dataclass(frozen=True, order=True)
class Problem:
    """One problem; `row` is the row number as the user sees it in the file (None: the file or a whole column)."""

    file: str
    row: int | None
    column: str | None
    message: str
    rows: str | None = None  # a row range when the problem concerns many rows ("2–31")

    def format(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        elif self.rows:
            where.append(f"rows {self.rows}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{where[0]}: {', '.join(where[1:])}: {self.message}" if len(where) > 1 else \
            f"{where[0]}: {self.message}"


def show_value(value: object) -> str:
    """A value as the message shows it: quoted, non-UTF-8 bytes as \\xNN, long values shortened."""
    if value is None:
        return "(empty)"
    text = str(value)
    if any(0xDC80 <= ord(ch) <= 0xDCFF for ch in text):
        text = text.encode("utf-8", "surrogateescape").decode("latin-1")
        text = "".join(ch if ord(ch) < 0x80 else f"\\x{ord(ch):02x}" for ch in text)
        return f"'{text}'"
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def sort_key(p: Problem) -> tuple:
    return (p.row is not None, p.row or 0, p.column or "", p.message)


class ValidationFailed(PaperlockError):
    """A file failed validation: the message lists every problem (up to `limit`)."""

    def __init__(self, problems: list[Problem], description: str = "", limit: int = MAX_SHOWN,
                 hint: str = "") -> None:
        self.problems = sorted(problems, key=sort_key)
        shown = self.problems[:limit]
        head = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        if description:
            head += f" in {description}"
        lines = [head + ":"] + ["  " + p.format() for p in shown]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more (`paperlock validate` lists them all)")
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))
