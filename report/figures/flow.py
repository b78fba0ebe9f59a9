"""Patient-flow chart (CONSORT-like): boxes and arrows drawn from labels and counts passed in.

The caller supplies every label (from the study spec) and every count (from results); this module knows no
study. `facts` is a dict:

    {"stages": [box, ...],                       # the main column, top to bottom
     "exits": [{"after": i, **box}, ...],        # side box on the arrow leaving stage i (e.g. exclusions)
     "groups": [{**box, "children": [box, ...]}]}  # the arms under the last stage, each split further

where `box = {"label": str, "n": int | None, "lines": [{"label": str, "n": int | None}, ...]}`; `lines` are
listed inside the box (reasons, sub-counts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from report.figures.style import FULL_WIDTH_IN, SMALL_PT, styled, text_width_pt

FONT_PT = SMALL_PT + 0.5
PAD_X_IN, PAD_Y_IN = 0.08, 0.06
GAP_IN = 0.32            # vertical gap between rows of boxes (arrow length)
SIDE_GAP_IN = 0.3        # horizontal gap between the main column and a side box
MARGIN_IN = 0.04
LINE_WIDTH = 0.7


def count_text(n: int | None) -> str:
    """Default count: '(n = 85)'."""
    return "" if n is None else f"(n = {n})"


def wrap(tokens: Sequence[str], width_pt: float, size: float = FONT_PT, weight: str = "normal") -> list[str]:
    """Greedy word wrap of `tokens` (words; a token is never split) to lines at most `width_pt` wide."""
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = f"{current} {token}" if current else token
        if current and text_width_pt(candidate, size, weight) > width_pt:
            lines.append(current)
            current = token
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


@dataclass
class Box:
    """One box: centre x, top y (inches from the top), width; its texts are measured before placing."""
    x: float
    width: float
    heading: Text
    details: Text | None = None
    content: float = 0.0     # height of the texts
    top: float = 0.0
    height: float = field(default=0.0)

    @property
    def bottom(self) -> float:
        return self.top + self.height


class FlowLayout:
    """Builds boxes on an axes whose data units are inches, y growing downwards."""

    def __init__(self, fig: Figure, ax: Axes, count: Callable[[int | None], str]) -> None:
        self.fig, self.ax, self.count = fig, ax, count
        self.renderer = FigureCanvasAgg(fig).get_renderer()

    def _height_in(self, text: Text) -> float:
        return text.get_window_extent(self.renderer).height / self.fig.dpi

    def box(self, spec: Mapping[str, Any], x: float, width: float, *, align: str = "center",
            fit: bool = False) -> Box:
        """A box of `width` centred at `x` (with `fit`, narrowed to its text, keeping the left edge)."""
        inner = width * 72 - 2 * PAD_X_IN * 72
        label = str(spec.get("label", ""))
        tokens = [*label.split(), *([self.count(spec.get("n"))] if spec.get("n") is not None else [])]
        heading = self.ax.text(x, 0, "\n".join(wrap(tokens, inner)), ha="center" if align == "center" else "left",
                               va="top", fontsize=FONT_PT, multialignment=align, linespacing=1.25)
        details = None
        # a single line that only repeats the box's own label and count adds nothing
        lines = [item for item in spec.get("lines") or []
                 if (str(item["label"]), item.get("n")) != (label, spec.get("n")) or len(spec["lines"]) > 1]
        if lines:
            text = []
            for item in lines:
                item_tokens = [*str(item["label"]).split(), *([self.count(item.get("n"))]
                                                              if item.get("n") is not None else [])]
                wrapped = wrap(item_tokens, inner - 8)
                text.append("\n".join([wrapped[0], *("   " + w for w in wrapped[1:])]))
            details = self.ax.text(x, 0, "\n".join(text), ha="left", va="top", fontsize=FONT_PT - 0.5,
                                   multialignment="left", linespacing=1.25)
        box = Box(x=x, width=width, heading=heading, details=details)
        box.content = self._height_in(heading)
        if details is not None:
            box.content += 0.05 + self._height_in(details)
        box.height = box.content + 2 * PAD_Y_IN
        if fit:
            texts = [t for t in (heading, details) if t is not None]
            used = max(t.get_window_extent(self.renderer).width for t in texts) / self.fig.dpi + 2 * PAD_X_IN
            box.x, box.width = x - width / 2 + min(used, width) / 2, min(used, width)
        return box

    def place(self, box: Box, top: float) -> None:
        box.top = top
        left = box.x - box.width / 2
        text_top = top + (box.height - box.content) / 2  # texts centred vertically in a stretched box
        self.ax.add_patch(Rectangle((left, top), box.width, box.height, facecolor="white", edgecolor="black",
                                    linewidth=LINE_WIDTH, zorder=2))
        if box.heading.get_horizontalalignment() == "center":
            box.heading.set_position((box.x, text_top))
        else:
            box.heading.set_position((left + PAD_X_IN, text_top))
        box.heading.set_zorder(3)
        if box.details is not None:
            box.details.set_position((left + PAD_X_IN, text_top + self._height_in(box.heading) + 0.05))
            box.details.set_zorder(3)

    def line(self, xs: Sequence[float], ys: Sequence[float], arrow: bool = False) -> None:
        """A connector through the points; with `arrow`, the last segment ends in an arrow head."""
        if len(xs) > 2 or not arrow:
            end = -1 if arrow else len(xs)
            self.ax.plot(xs[:end] if arrow else xs, ys[:end] if arrow else ys, color="black",
                         linewidth=LINE_WIDTH, solid_capstyle="butt", solid_joinstyle="miter")
        if arrow:
            self.ax.annotate("", xy=(xs[-1], ys[-1]), xytext=(xs[-2], ys[-2]),
                             arrowprops={"arrowstyle": "-|>,head_length=0.35,head_width=0.18",
                                         "color": "black", "linewidth": LINE_WIDTH,
                                         "shrinkA": 0, "shrinkB": 0})


@styled
def flow_chart(facts: Mapping[str, Any], *, width_in: float = FULL_WIDTH_IN, main_width_in: float = 2.5,
               count: Callable[[int | None], str] = count_text) -> Figure:
    """Draw the patient flow: main column with side (exclusion) boxes, then groups and their sub-groups."""
    stages: list[Mapping[str, Any]] = list(facts.get("stages", []))
    exits = {int(e["after"]): e for e in facts.get("exits", [])}
    groups: list[Mapping[str, Any]] = list(facts.get("groups", []))
    if not stages:
        raise ValueError("a flow chart needs at least one stage")
    misplaced = [i for i in exits if not 0 <= i < len(stages) - 1]
    if misplaced:
        raise ValueError(f"side boxes must sit between two stages; 'after' = {misplaced[0]} "
                         f"with {len(stages)} stages")

    fig = Figure(figsize=(width_in, 4.0))
    ax = fig.add_axes((0, 0, 1, 1))
    flow = FlowLayout(fig, ax, count)
    x_main = width_in * (0.4 if exits else 0.5)
    side_left = x_main + main_width_in / 2 + SIDE_GAP_IN
    side_width = min(width_in - MARGIN_IN - side_left, 2.6)

    y = MARGIN_IN
    previous: Box | None = None
    for i, spec in enumerate(stages):
        box = flow.box(spec, x_main, main_width_in)
        if previous is not None:
            side = exits.get(i - 1)
            if side is not None:
                side_box = flow.box(side, side_left + side_width / 2, side_width, align="left", fit=True)
                flow.place(side_box, y + GAP_IN / 2)
                mid = side_box.top + side_box.height / 2
                flow.line([x_main, side_left], [mid, mid], arrow=True)
                y = side_box.bottom + GAP_IN / 2
            flow.line([x_main, x_main], [previous.bottom, y], arrow=True)
        flow.place(box, y)
        previous, y = box, box.bottom + GAP_IN
    assert previous is not None
    if groups:
        y = _draw_groups(flow, groups, previous, width_in)
    height = y + MARGIN_IN
    fig.set_size_inches(width_in, height)
    ax.set_xlim(0, width_in)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    return fig


def _split(flow: FlowLayout, parent: Box, children: Sequence[Box], top: float) -> None:
    """Elbow connector from `parent` down to a bar, then an arrow down into each child at `top`."""
    bar = parent.bottom + (top - parent.bottom) / 2
    xs = [c.x for c in children]
    flow.line([parent.x, parent.x], [parent.bottom, bar])
    if len(children) > 1:
        flow.line([min(xs), max(xs)], [bar, bar])
    for c in children:
        flow.line([c.x, c.x], [bar, top], arrow=True)


def _draw_groups(flow: FlowLayout, groups: Sequence[Mapping[str, Any]], parent: Box, width_in: float) -> float:
    """Groups in a row under `parent`, each over its own children; returns the bottom (inches)."""
    shares = [max(1, len(g.get("children", []))) for g in groups]
    unit = (width_in - 2 * MARGIN_IN) / sum(shares)
    left = MARGIN_IN
    group_boxes: list[Box] = []
    child_rows: list[list[Box]] = []
    for spec, share in zip(groups, shares, strict=True):
        span = share * unit
        group_boxes.append(flow.box(spec, left + span / 2, min(span - 0.2, 2.2)))
        kids = spec.get("children", [])
        child_w = min(span / max(len(kids), 1) - 0.12, 1.6)
        child_rows.append([flow.box(k, left + (j + 0.5) * span / len(kids), child_w)
                           for j, k in enumerate(kids)])
        left += span
    top = parent.bottom + GAP_IN * 1.4
    for box in group_boxes:
        box.height = max(b.height for b in group_boxes)
        flow.place(box, top)
    _split(flow, parent, group_boxes, top)
    bottom = group_boxes[0].bottom
    kids_all = [b for row in child_rows for b in row]
    if kids_all:
        kid_top = bottom + GAP_IN * 1.4
        tallest = max(b.height for b in kids_all)
        for group_box, row in zip(group_boxes, child_rows, strict=True):
            for b in row:
                b.height = tallest
                flow.place(b, kid_top)
            if row:
                _split(flow, group_box, row, kid_top)
        bottom = kid_top + tallest
    return bottom
