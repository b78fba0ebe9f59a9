"""Waterfall plot: each patient's best percent change in tumour size, sorted, coloured by best response.

Input is the `listings.waterfall` rows of results.json: `best_pct_change`, `response` (cr/pr/sd/pd), and an
optional marker field (default `afp_change`: elevated/decreased) and grouping field (default `arm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from report.figures.style import FULL_WIDTH_IN, GREY, SMALL_PT, styled

# Okabe–Ito blues for response, grey for stable, vermillion for progression.
RESPONSE_COLORS = {"cr": "#0072B2", "pr": "#56B4E9", "sd": "#B3B3B3", "pd": "#D55E00"}
RESPONSE_LABELS = {"cr": "CR", "pr": "PR", "sd": "SD", "pd": "PD"}
MARKER_STYLE = {  # (marker, filled)
    "elevated": ("^", True),
    "decreased": ("v", False),
}
MARKER_LABELS = {"elevated": "AFP elevated", "decreased": "AFP decreased"}  # for the default field
THRESHOLDS = (20.0, -30.0)   # progression and partial-response lines (RECIST / mRECIST)


def _draw_bars(ax: Axes, rows: Sequence[Mapping[str, Any]], colors: Mapping[str, str], marker_field: str,
               span: float) -> None:
    values = [float(r["best_pct_change"]) for r in rows]
    x = np.arange(len(rows))
    ax.bar(x, values, width=0.8, color=[colors.get(r["response"], GREY) for r in rows], linewidth=0,
           zorder=2)
    offset = 0.045 * span
    for xi, v, row in zip(x, values, rows, strict=True):
        style = MARKER_STYLE.get(row.get(marker_field) or "")
        if style is None:
            continue
        marker, filled = style
        y = v + offset if v >= 0 else v - offset
        ax.plot([xi], [y], linestyle="none", marker=marker, markersize=3.2, markeredgewidth=0.6,
                color="black", markerfacecolor="black" if filled else "white",
                label=f"_marker:{row.get(marker_field)}", zorder=3)
    ax.axhline(0, color="black", linewidth=0.6, zorder=3)
    for level in THRESHOLDS:
        ax.axhline(level, color=GREY, linewidth=0.6, linestyle=(0, (4, 2)), zorder=1)
    ax.set_xlim(-0.7, len(rows) - 0.3)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)


@styled
def waterfall_plot(rows: Sequence[Mapping[str, Any]], *, facet_by: str | None = None,
                   facet_labels: Mapping[str, str] | None = None, marker_field: str = "afp_change",
                   marker_labels: Mapping[str, str] | None = None,
                   response_labels: Mapping[str, str] | None = None,
                   colors: Mapping[str, str] | None = None,
                   ylabel: str = "Best change from baseline (%)", xlabel: str = "Patients",
                   width_in: float = FULL_WIDTH_IN, height_in: float = 2.9) -> Figure:
    """Bars sorted from largest increase to largest decrease; one panel per `facet_by` value when given."""
    colors = {**RESPONSE_COLORS, **(colors or {})}
    response_labels = {**RESPONSE_LABELS, **(response_labels or {})}
    marker_labels = {**MARKER_LABELS, **(marker_labels or {})}
    ordered = sorted(rows, key=lambda r: -float(r["best_pct_change"]))
    if facet_by:
        present = list(dict.fromkeys(str(r[facet_by]) for r in rows))
        # facets follow the order of `facet_labels` (the study's level order), then any others as they appear
        keys = [k for k in (facet_labels or {}) if k in present] + [k for k in present if k not in (facet_labels or {})]
        facets = [(k, [r for r in ordered if str(r[facet_by]) == k]) for k in keys]
    else:
        facets = [(None, ordered)]
    values = [float(r["best_pct_change"]) for r in rows] or [0.0]
    low, high = min(min(values), THRESHOLDS[1]), max(max(values), THRESHOLDS[0])
    span = high - low
    ylim = (low - 0.12 * span, high + 0.12 * span)

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    axes = fig.subplots(1, len(facets), sharey=True, squeeze=False,
                        gridspec_kw={"width_ratios": [max(len(f), 1) for _, f in facets]})[0]
    for ax, (key, facet_rows) in zip(axes, facets, strict=True):
        _draw_bars(ax, facet_rows, colors, marker_field, span)
        ax.set_ylim(*ylim)
        if key is not None:
            ax.set_title(f"{(facet_labels or {}).get(key, key)} (n = {len(facet_rows)})", fontsize=SMALL_PT + 1)
        ax.set_xlabel(xlabel)
    for ax in axes[1:]:
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", left=False)
    axes[0].set_ylabel(ylabel)
    last = axes[-1]
    for level in THRESHOLDS:
        last.annotate(f"{level:+.0f}%".replace("-", "−"), xy=(1, level), xycoords=("axes fraction", "data"),
                      xytext=(2, 0), textcoords="offset points", va="center", ha="left", fontsize=SMALL_PT - 0.5,
                      color=GREY)

    present = {r["response"] for r in rows}
    handles: list[Any] = [Patch(color=colors[c], label=response_labels.get(c, c.upper()))
                          for c in colors if c in present]
    markers_present = {r.get(marker_field) for r in rows}
    for code, (marker, filled) in MARKER_STYLE.items():
        if code in markers_present:
            handles.append(Line2D([], [], linestyle="none", marker=marker, markersize=4, markeredgewidth=0.6,
                                  color="black", markerfacecolor="black" if filled else "white",
                                  label=marker_labels.get(code, code)))
    if handles:
        fig.legend(handles=handles, loc="outside upper center", ncol=len(handles), handlelength=1.0,
                   handleheight=0.9, columnspacing=1.4, handletextpad=0.5, fontsize=SMALL_PT)
    return fig
