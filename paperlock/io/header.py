"""Column names from a file's header row: trimmed, and made unique with a problem for each clash or blank."""

from __future__ import annotations

from typing import Any

from paperlock.problems import Problem


def clean_header(raw: list[Any], file: str, row: int | None) -> tuple[list[str], list[Problem]]:
    """Trimmed names; a blank name becomes 'column N', a repeated one 'name (column N)', each with a problem."""
    names: list[str] = []
    problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    for i, value in enumerate(raw, start=1):
        name = "" if value is None else str(value).strip().lstrip("\ufeff")
        if not name:
            name = f"column {i}"
            problems.append(Problem(file, row, name, "the header has no name for this column"))
        elif name in first_seen:
            problems.append(Problem(file, row, name,
                                    f"column name appears twice (columns {first_seen[name]} and {i})"))
            name = f"{name} (column {i})"
        first_seen.setdefault(name, i)
        names.append(name)
    return names, problems


def trim_trailing_blank(raw: list[Any]) -> list[Any]:
    """Drop blank cells at the end of a header row (spreadsheets often carry empty formatted columns)."""
    out = list(raw)
    while out and (out[-1] is None or str(out[-1]).strip() == ""):
        out.pop()
    return out
