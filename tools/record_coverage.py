"""Dev-only: list every number in the paper's Results that `data/published.yaml` does not hold, with the reason.

Scans Tables 1-6, sections 2.1-2.7, the Abstract's Results paragraph and Methods 1.4. A number is covered when
the record holds an entry printed the same way at that point of the place (entries are matched in reading
order); otherwise a rule from `data/published_coverage_rules.yaml` must explain why it is not a statistic.
The paper is read from `/work/shared/paper` or `../shared/paper`; when neither exists the tool says it was
skipped and exits 0 (users never have the paper).

Usage: .venv/bin/python tools/record_coverage.py [--strict]   (--strict: exit 1 if anything is unexplained)
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_published_record as builder  # noqa: E402

ROOT = builder.ROOT
RECORD = ROOT / "data" / "published.yaml"
RULES = ROOT / "data" / "published_coverage_rules.yaml"
TOKEN = re.compile(r"(?<=\()\d+\.\s\d+(?=–)|\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Token:
    place: str
    line: str
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.line[self.start : self.end]


@dataclass(frozen=True)
class Rule:
    reason: str
    pattern: re.Pattern[str]
    places: frozenset[str] | None

    def explains(self, token: Token) -> bool:
        if self.places is not None and token.place not in self.places:
            return False
        for m in self.pattern.finditer(token.line):
            for name, value in m.groupdict().items():
                if name.startswith("num") and value is not None:
                    start, end = m.span(name)
                    if start <= token.start and token.end <= end:
                        return True
        return False


def load_rules(path: Path = RULES) -> list[Rule]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Rule(r["reason"], re.compile(r["pattern"]), frozenset(r["places"]) if "places" in r else None)
            for r in data["rules"]]


def place_lines(lines: list[str]) -> dict[str, list[str]]:
    """The text of each place, one string per sentence (text) or per row (tables, caption and notes included)."""
    out: dict[str, list[str]] = {}
    for place in builder.SECTIONS:
        out[place] = builder.sentences(builder.text_of(lines, place))
    for number in range(1, 7):
        start = next(i for i, s in enumerate(lines) if s.startswith(f"TABLE {number}."))
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("•"))
        while end < len(lines) and lines[end].startswith("•"):
            end += 1
        out[f"table{number}"] = lines[start:end]
    return out


def tokens(place: str, rows: list[str]) -> list[Token]:
    return [Token(place, row, m.start(), m.end()) for row in rows for m in TOKEN.finditer(row)]


def coverage(lines: list[str], record: dict, rules: list[Rule]) -> tuple[list[tuple[Token, str]], list[str]]:
    """(token, reason) for every number the record does not hold; plus record entries not found in the text."""
    by_place: dict[str, list[str]] = {}
    for e in record["entries"]:
        if not e["printed"].isalpha():
            by_place.setdefault(e["place"], []).append(e["printed"])
    uncovered: list[tuple[Token, str]] = []
    missing: list[str] = []
    for place, rows in place_lines(lines).items():
        expected = by_place.get(place, [])
        i = 0
        for tok in tokens(place, rows):
            if i < len(expected) and tok.text == expected[i]:
                i += 1
                continue
            reason = next((r.reason for r in rules if r.explains(tok)), "UNEXPLAINED")
            uncovered.append((tok, reason))
        missing += [f"{place}: {p}" for p in expected[i:]]
    return uncovered, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a number is unexplained")
    args = parser.parse_args(argv)
    paper = builder.find_paper()
    if paper is None:
        print("record_coverage: the paper is not available here; skipped (dev-only tool)")
        return 0
    record = yaml.safe_load(RECORD.read_text(encoding="utf-8"))
    uncovered, missing = coverage(builder.paper_lines(paper), record, load_rules())
    counts: dict[str, int] = {}
    for tok, reason in uncovered:
        counts[reason] = counts.get(reason, 0) + 1
        context = tok.line[max(0, tok.start - 30) : tok.end + 20]
        print(f"{tok.place:9} {tok.text:>8}  {reason}  | …{context}…")
    print(f"\n{len(record['entries'])} record entries; {len(uncovered)} other numbers:")
    for reason, n in sorted(counts.items()):
        print(f"  {n:4}  {reason}")
    for item in missing:
        print(f"record entry not found in the paper: {item}")
    bad = counts.get("UNEXPLAINED", 0) + len(missing)
    print("nothing unexplained" if not bad else f"{bad} unexplained")
    return 1 if (bad and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
