"""Forest plot of Cox hazard ratios: one row per covariate, point and 95% CI on a log axis, text columns.

Rows are plain dicts: `label`, `hr`, `ci_lower`, `ci_upper`, `p`, optional `group` (a header row is drawn
whenever it changes, e.g. "Univariable" / "Multivariable") and `status` ("not_estimable" rows show as text).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from report.figures.style import FULL_WIDTH_IN, GREY, OKABE_ITO, SMALL_PT, styled, text_width_pt
from report.formatting import estimate_ci, pvalue

ROW_IN = 0.17
NOT_ESTIMABLE = "not estimable"
LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def hr_text(row: Mapping[str, Any]) -> str:
    """Default 'HR (95% CI)' cell: 'h (L–U)' at two decimals."""
    return estimate_ci(row.get("hr"), row.get("ci_lower"), row.get("ci_upper"), 2)


def _estimable(row: Mapping[str, Any]) -> bool:
    values = [row.get(k) for k in ("hr", "ci_lower", "ci_upper")]
    return row.get("status", "estimated") == "estimated" and all(
        v is not None and math.isfinite(v) and v > 0 for v in values)


def _layout(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, Any]]:
    """Display lines top to bottom: ('header', text) whenever the group changes, then ('row', row)."""
    lines: list[tuple[str, Any]] = []
    current: object = object()
    for row in rows:
        group = row.get("group")
        if group is not None and group != current:
            lines.append(("header", group))
        current = group
        lines.append(("row", row))
    return lines


def _x_range(rows: Sequence[Mapping[str, Any]]) -> tuple[float, float]:
    """From the tick at or below the lowest CI bound to the tick at or above the highest (capped)."""
    lows = [r["ci_lower"] for r in rows if _estimable(r)] or [0.5]
    highs = [r["ci_upper"] for r in rows if _estimable(r)] or [2.0]
    lo = max([t for t in LOG_TICKS if t <= min(min(lows), 0.5)], default=LOG_TICKS[0])
    hi = min([t for t in LOG_TICKS if t >= max(max(highs), 2.0)], default=LOG_TICKS[-1])
    return lo, hi


def _column_widths(lines: list[tuple[str, Any]], texts: list[str], width_in: float,
                   header: tuple[str, str, str]) -> list[float]:
    """Label column as wide as the longest label, text column as wide as its texts, the plot the rest."""
    size = SMALL_PT + 0.5
    labels = [text_width_pt(str(item if kind == "header" else item["label"]), size,
                            "bold" if kind == "header" else "normal") + (0 if kind == "header" else 8)
              for kind, item in lines]
    label_in = (max([*labels, text_width_pt(header[0], size, "bold")]) + 12) / 72
    text_in = (max([text_width_pt(t, size) for t in texts] + [text_width_pt(header[1], size, "bold")])
               + 3.5 * size + 12) / 72
    plot_in = max(width_in - label_in - text_in - 0.1, 0.3 * width_in)
    return [label_in, plot_in, text_in]


@styled
def forest_plot(rows: Sequence[Mapping[str, Any]], *, xlabel: str = "Hazard ratio (95% CI)",
                hr_formatter: Callable[[Mapping[str, Any]], str] = hr_text,
                p_formatter: Callable[[float | None], str] = pvalue,
                columns: tuple[str, str, str] = ("Variable", "HR (95% CI)", "p"),
                xlim: tuple[float, float] | None = None, color: str = OKABE_ITO[0],
                width_in: float = FULL_WIDTH_IN, width_ratios: Sequence[float] | None = None) -> Figure:
    """Hazard ratios on a log axis with a line at 1; label, 'HR (95% CI)' and p as text columns."""
    lines = _layout(rows)
    n = len(lines)
    ratios = width_ratios or _column_widths(
        lines, [hr_formatter(r) if _estimable(r) else NOT_ESTIMABLE for r in rows], width_in, columns)
    fig = Figure(figsize=(width_in, ROW_IN * (n + 1) + 0.55), layout="constrained")
    label_ax, ax, text_ax = fig.subplots(1, 3, sharey=True, gridspec_kw={"width_ratios": list(ratios)})
    lo, hi = xlim or _x_range(rows)
    ys = range(n - 1, -1, -1)
    for y, (kind, item) in zip(ys, lines, strict=True):
        if kind == "header":
            label_ax.text(0, y, str(item), ha="left", va="center", fontweight="bold")
            continue
        indent = 0.04 if any(k == "header" for k, _ in lines) else 0.0
        label_ax.text(indent, y, str(item["label"]), ha="left", va="center")
        if not _estimable(item):
            text_ax.text(0.02, y, NOT_ESTIMABLE, ha="left", va="center", color=GREY, style="italic")
            continue
        text_ax.text(0.02, y, hr_formatter(item), ha="left", va="center")
        text_ax.text(0.98, y, p_formatter(item.get("p")), ha="right", va="center")
        hr, low, high = item["hr"], item["ci_lower"], item["ci_upper"]
        ax.plot([max(low, lo), min(high, hi)], [y, y], color=color, linewidth=1.0, solid_capstyle="butt",
                label="_ci")
        for beyond, at, marker in ((low < lo, lo, "<"), (high > hi, hi, ">")):
            if beyond:  # the interval runs off the axis: an arrow head at the edge
                ax.plot([at], [y], marker=marker, markersize=3.5, color=color, linestyle="none",
                        label="_clipped", clip_on=False)
        if lo <= hr <= hi:
            ax.plot([hr], [y], marker="s", markersize=4.2, color=color, linestyle="none", label="_hr")
    top = n - 0.5
    for a, head, x, ha in ((label_ax, columns[0], 0.0, "left"), (text_ax, columns[1], 0.02, "left"),
                           (text_ax, columns[2], 0.98, "right")):
        a.text(x, top + 0.55, head, ha=ha, va="center", fontweight="bold")
    ax.plot([1.0, 1.0], [-0.6, n - 0.5], color="black", linewidth=0.6, zorder=0, label="_null")
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator([t for t in LOG_TICKS if lo <= t <= hi]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylim(-0.6, top + 1.0)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", left=False, labelleft=False)
    for a in (label_ax, text_ax):
        a.set_xlim(0, 1)
        a.set_axis_off()
    for a in (label_ax, ax, text_ax):
        for t in a.texts:
            t.set_fontsize(SMALL_PT + 0.5)
    return fig
