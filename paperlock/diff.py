"""Which numbers of the manuscript changed between two results (two data locks, or two results.json files).

Numbers are compared as printed: each statistic is formatted with the study's display precision through
`report.formatting`, the same functions the tables and prose use, so a change below the printed precision is
counted but not listed as a moved number. Figures (curves, listings) are compared as data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from paperlock.results import Results, Statistic
from paperlock.spec import Display


def printed(stat: Statistic | None, display: Display) -> str:
    """The statistic as the manuscript prints it; '(absent)' when the results do not hold it."""
    from report import formatting as fmt

    if stat is None:
        return "(absent)"
    if stat.status == "not_reached":
        return fmt.NOT_REACHED
    x = stat.value
    if stat.kind in ("N", "n", "count"):
        return fmt.integer(x)
    if stat.kind == "p":
        return fmt.pvalue(x, display.p_digits)
    if stat.kind == "pct" or stat.unit == "%":
        return fmt.pct(x, display.pct_digits)
    if stat.unit == "months":
        return fmt.months(x, display.months_digits, stat.status)
    if stat.kind in ("hr", "ci_lower", "ci_upper"):
        return fmt.num(x, display.hr_digits)
    return fmt.num(x, display.continuous_digits)


@dataclass(frozen=True)
class Change:
    key: str
    old: str
    new: str
    old_value: float | int | None
    new_value: float | int | None
    where: str = ""


@dataclass
class Diff:
    old_label: str
    new_label: str
    changed: list[Change] = field(default_factory=list)
    below_precision: list[str] = field(default_factory=list)
    figures_changed: list[str] = field(default_factory=list)
    compared: int = 0

    @property
    def moved(self) -> list[str]:
        return [c.key for c in self.changed]


def diff_results(old: Results, new: Results, display: Display, old_label: str, new_label: str,
                 places: dict[str, str] | None = None) -> Diff:
    places = places or {}
    out = Diff(old_label=old_label, new_label=new_label)
    keys = sorted(old.statistics.keys() | new.statistics.keys())
    out.compared = len(keys)
    for key in keys:
        a, b = old.statistics.get(key), new.statistics.get(key)
        pa, pb = printed(a, display), printed(b, display)
        if pa != pb:
            out.changed.append(Change(key, pa, pb, a.value if a else None, b.value if b else None,
                                      places.get(key, "")))
        elif a is not None and b is not None and (a.value != b.value or a.status != b.status):
            out.below_precision.append(key)
    for name in sorted(old.curves.keys() | new.curves.keys()):
        if old.curves.get(name) != new.curves.get(name):
            out.figures_changed.append(f"curve {name}")
    for name in sorted(old.listings.keys() | new.listings.keys()):
        if old.listings.get(name) != new.listings.get(name):
            out.figures_changed.append(f"listing {name}")
    return out


def published_places(path: Path) -> dict[str, str]:
    """{key: 'table2, text2.3'}: where the published record prints each key (when the study has a record)."""
    import yaml

    try:
        loader = yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - PyYAML without libyaml
        loader = yaml.SafeLoader
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=loader) or {}
    places: dict[str, list[str]] = {}
    for entry in doc.get("entries", []) or []:
        key, place = entry.get("key"), entry.get("place")
        if key and place and place not in places.setdefault(key, []):
            places[key].append(str(place))
    return {k: ", ".join(v) for k, v in places.items()}


def format_text(d: Diff) -> str:
    lines = [f"paperlock diff: {d.old_label} -> {d.new_label}"]
    if not d.changed:
        lines.append(f"No printed number changed ({d.compared} statistics compared).")
    else:
        lines.append(f"{len(d.changed)} printed number{'s' if len(d.changed) != 1 else ''} changed "
                     f"(of {d.compared} statistics):")
        wk = max(len("statistic"), *(len(c.key) for c in d.changed))
        wo = max(len("old"), *(len(c.old) for c in d.changed))
        wn = max(len("new"), *(len(c.new) for c in d.changed))
        with_places = any(c.where for c in d.changed)
        head = f"  {'statistic':<{wk}}  {'old':>{wo}}  {'new':>{wn}}" + ("  printed in" if with_places else "")
        lines += [head, "  " + "-" * (len(head) - 2 + (12 if with_places else 0))]
        section = None
        for c in d.changed:
            top = c.key.split(".")[0]
            if section is not None and top != section:
                lines.append("")
            section = top
            lines.append(f"  {c.key:<{wk}}  {c.old:>{wo}}  {c.new:>{wn}}" + (f"  {c.where}" if c.where else ""))
    if d.below_precision:
        lines.append(f"{len(d.below_precision)} more statistic(s) changed below the printed precision "
                     "(not shown in the manuscript).")
    if d.figures_changed:
        lines.append("Figure data changed: " + ", ".join(d.figures_changed) + ".")
    return "\n".join(lines) + "\n"


def format_json(d: Diff) -> str:
    return json.dumps(asdict(d), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
