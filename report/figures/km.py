"""Kaplan–Meier figures: step curves with censor marks, medians, the log-rank p, numbers at risk under the axis.

Input is a `curves` block of results.json (docs/keys.md): the steps, censor times, medians, numbers at risk and
the log-rank p are computed upstream; this module only lays them out. Survival is shown as a probability (0–1),
as survminer does by default; `percent=True` labels the axis in percent instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, FuncFormatter

from report.figures.style import (
    COLUMN_WIDTH_IN,
    FULL_WIDTH_IN,
    GREY,
    SMALL_PT,
    palette,
    styled,
    text_width_pt,
)
from report.formatting import num, p_clause

Formatter = Callable[[float | None], str]

MAIN_HEIGHT_IN = 2.0     # height of the curve axes of one panel
RISK_ROW_IN = 0.15       # height of one row of the numbers-at-risk table
LEGEND_ROW_IN = 0.14     # height of one legend row above the axes
OVERHEAD_IN = 0.8        # tick labels, axis label, table title, margins
Y_AXIS_IN = 0.62         # y label and tick labels left of the axes
LEGEND = {"handlelength": 1.5, "handletextpad": 0.6, "columnspacing": 1.2}


def logrank_text(p: float | None) -> str:
    """Default log-rank label: 'Log-rank p = 0.012', 'Log-rank p < 0.001'."""
    return f"Log-rank {p_clause(p)}"


def median_text(median: float | None) -> str:
    """Default median label: 'median 3.1 mo'; 'median NR' when the curve never reaches 50%."""
    return "median NR" if median is None else f"median {num(median, 1)} mo"


def step_value(time: Sequence[float], survival: Sequence[float], at: Sequence[float]) -> np.ndarray:
    """Height of the right-continuous step function (time, survival) at the times `at` (for censor marks)."""
    t = np.asarray(time, dtype=float)
    idx = np.searchsorted(t, np.asarray(at, dtype=float), side="right") - 1
    return np.asarray(survival, dtype=float)[np.clip(idx, 0, len(t) - 1)]


def truncate_steps(time: Sequence[float], survival: Sequence[float], right: float) -> tuple[list, list]:
    """The step function cut at `right` (the end of the time axis), ending with its value there."""
    t = [x for x in time if x <= right]
    s = list(survival[:len(t)])
    if len(t) < len(time) and t:
        t, s = [*t, right], [*s, s[-1]]
    return t, s


def legend_columns(labels: Sequence[str], available_in: float, max_columns: int = 2) -> int:
    """Most columns (up to `max_columns`) for which a legend of `labels` fits in `available_in` inches."""
    em = SMALL_PT
    entry = [(LEGEND["handlelength"] + LEGEND["handletextpad"]) * em + text_width_pt(s, SMALL_PT) for s in labels]
    for ncol in range(min(max_columns, len(labels)), 1, -1):
        cols = [max(entry[c::ncol]) for c in range(ncol)]
        if sum(cols) + (ncol - 1) * LEGEND["columnspacing"] * em <= available_in * 72:
            return ncol
    return 1


def _legend_labels(block: Mapping[str, Any], median_formatter: Formatter) -> list[str]:
    return [f"{g.get('label', c)}, {median_formatter(g.get('median'))}" for c, g in block["groups"].items()]


def _layout(block: Mapping[str, Any], width_in: float, median_formatter: Formatter,
            max_columns: int) -> tuple[int, float]:
    """Legend columns and total height (inches) of one panel of width `width_in`."""
    labels = _legend_labels(block, median_formatter)
    ncol = legend_columns(labels, width_in - Y_AXIS_IN, max_columns)
    n_table = len((block.get("at_risk") or {}).get("n", {})) or 1
    legend_rows = -(-len(labels) // ncol)
    return ncol, MAIN_HEIGHT_IN + _table_height(n_table) + legend_rows * LEGEND_ROW_IN + OVERHEAD_IN


def _table_height(n_rows: int) -> float:
    return RISK_ROW_IN * (n_rows + 0.4)


def draw_km(fig: Figure | SubFigure, block: Mapping[str, Any], title: str | None = None, *,
            xlabel: str | None = None, ylabel: str = "Survival probability", percent: bool = False,
            p_formatter: Formatter = logrank_text, median_formatter: Formatter = median_text,
            colors: Mapping[str, str] | None = None, show_median_lines: bool = True,
            ncol: int = 2) -> tuple[Axes, Axes]:
    """Draw one Kaplan–Meier panel (legend, curves, numbers at risk) into `fig`; return the two axes."""
    groups: Mapping[str, Mapping[str, Any]] = block["groups"]
    codes = list(groups)
    colour = palette(codes, colors)
    at_risk = block.get("at_risk") or {"times": [], "n": {}}
    ticks = [float(t) for t in at_risk.get("times", [])]
    table_rows = [c for c in codes if c in at_risk.get("n", {})]

    gs = fig.add_gridspec(2, 1, height_ratios=[MAIN_HEIGHT_IN, _table_height(max(len(table_rows), 1))])
    ax = fig.add_subplot(gs[0])
    table = fig.add_subplot(gs[1], sharex=ax)

    t_max = max((max(g["time"]) for g in groups.values() if len(g["time"])), default=1.0)
    right = max(ticks) if ticks else t_max
    curves = []
    for code in codes:
        g = groups[code]
        time, surv = truncate_steps(g["time"], g["survival"], right)
        curves += ax.step(time, surv, where="post", color=colour[code], label=g.get("label", code),
                          clip_on=False)
        censor = [t for t in g.get("censor_times", []) if t <= right]
        if censor:
            ax.plot(censor, step_value(g["time"], g["survival"], censor), linestyle="none", marker="+",
                    markersize=4.5, markeredgewidth=0.8, color=colour[code], label=f"_censor:{code}",
                    clip_on=False)
    if show_median_lines:
        _draw_median_lines(ax, {c: groups[c].get("median") for c in codes}, right, colour)
    for line in ax.lines:
        line.set_in_layout(False)  # data stay inside the axes; only labels and legend take layout space

    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.0)
    if ticks:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(FuncFormatter(
        (lambda y, _pos: f"{100 * y:.0f}") if percent else (lambda y, _pos: f"{y:.2f}")))
    ax.set_xlabel(xlabel or str(block.get("time_unit", "months")).capitalize())
    ax.set_ylabel(ylabel)
    if title:  # on the (sub)figure, above the legend, never on the axes where the legend sits
        fig.suptitle(title, fontsize=SMALL_PT + 1, fontweight="bold")
    ax.legend(curves, _legend_labels(block, median_formatter), loc="lower left", bbox_to_anchor=(0, 1.01),
              ncol=ncol, borderaxespad=0, labelspacing=0.25, **LEGEND)
    p = block.get("logrank_p")
    if len(codes) > 1 and p is not None:
        ax.text(0.98, 0.97, p_formatter(p), transform=ax.transAxes, ha="right", va="top", fontsize=SMALL_PT)

    _draw_risk_table(table, at_risk, table_rows, {c: groups[c].get("label", c) for c in codes}, colour)
    return ax, table


def _draw_median_lines(ax: Axes, medians: Mapping[str, float | None], right: float,
                       colour: Mapping[str, str]) -> None:
    """Dashed drop lines: across at 50% to the largest median, down to the time axis at each median."""
    reached = {c: m for c, m in medians.items() if m is not None and 0 <= m <= right}
    if not reached:
        return
    dash = (0, (3, 2))
    ax.plot([0, max(reached.values())], [0.5, 0.5], linestyle=dash, linewidth=0.6, color=GREY,
            label="_median:across")
    for code, m in reached.items():
        ax.plot([m, m], [0, 0.5], linestyle=dash, linewidth=0.7, color=colour[code], label=f"_median:{code}")


def _draw_risk_table(table: Axes, at_risk: Mapping[str, Any], rows: list[str], labels: Mapping[str, str],
                     colour: Mapping[str, str]) -> None:
    """Numbers at risk under each time tick, one row per group, rows labelled in the group's colour."""
    times = at_risk.get("times", [])
    for i, code in enumerate(rows):
        y = len(rows) - 1 - i
        for t, n in zip(times, at_risk["n"][code], strict=True):
            table.text(t, y, f"{int(n)}", ha="center", va="center", fontsize=SMALL_PT, clip_on=False)
    table.set_ylim(-0.7, len(rows) - 0.3)
    table.set_yticks(range(len(rows)), [labels[c] for c in reversed(rows)])
    for tick, code in zip(table.get_yticklabels(), reversed(rows), strict=True):
        tick.set_color(colour[code])
    table.tick_params(axis="y", length=0, pad=12)
    table.tick_params(axis="x", length=0, labelbottom=False)
    for side in ("left", "bottom", "top", "right"):
        table.spines[side].set_visible(False)
    table.set_title("Number at risk", loc="left", fontsize=SMALL_PT, pad=2)


@styled
def km_plot(curve_block: Mapping[str, Any], title: str | None = None, *, width_in: float = COLUMN_WIDTH_IN,
            max_legend_columns: int = 2, **options: Any) -> Figure:
    """One Kaplan–Meier panel with its numbers-at-risk table; `options` go to `draw_km`."""
    ncol, height = _layout(curve_block, width_in, options.get("median_formatter", median_text),
                           max_legend_columns)
    fig = Figure(figsize=(width_in, height + (0.2 if title else 0)), layout="constrained")
    draw_km(fig, curve_block, title, ncol=ncol, **options)
    return fig


@styled
def km_panel_grid(blocks: Sequence[Mapping[str, Any]], labels: Sequence[str] = "ABCD",
                  titles: Sequence[str | None] | None = None, *, ncols: int = 2,
                  width_in: float = FULL_WIDTH_IN, ylabels: Sequence[str] | None = None,
                  max_legend_columns: int = 2, **options: Any) -> Figure:
    """Panels A, B, … in a grid (two columns by default), each with its own numbers-at-risk table."""
    if len(labels) < len(blocks):
        raise ValueError(f"{len(blocks)} panels but only {len(labels)} panel labels")
    nrows = -(-len(blocks) // ncols)
    fmt = options.get("median_formatter", median_text)
    layouts = [_layout(b, width_in / ncols, fmt, max_legend_columns) for b in blocks]
    extra = 0.2 if titles and any(titles) else 0.0
    row_heights = [max(h for _, h in layouts[r * ncols:(r + 1) * ncols]) + extra for r in range(nrows)]
    fig = Figure(figsize=(width_in, sum(row_heights)), layout="constrained")
    subfigs = np.atleast_2d(fig.subfigures(nrows, ncols, height_ratios=row_heights))
    for i, block in enumerate(blocks):
        sub = subfigs[i // ncols, i % ncols]
        panel = dict(options)
        if ylabels:
            panel["ylabel"] = ylabels[i]
        draw_km(sub, block, titles[i] if titles else None, ncol=layouts[i][0], **panel)
        sub.text(0.0, 1.0, labels[i], ha="left", va="top", fontsize=11, fontweight="bold")
    for sub in subfigs.flat[len(blocks):]:
        sub.set_visible(False)
    return fig
