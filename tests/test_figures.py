"""Figures: each builder on small synthetic inputs draws the expected artists; output is deterministic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from report.figures import flow_chart, forest_plot, km_panel_grid, km_plot, save_figure, waterfall_plot
from report.figures import style as fig_style
from report.figures.km import legend_columns, step_value, truncate_steps
from report.figures.waterfall import RESPONSE_COLORS


def km_block(p: float | None = 0.0123) -> dict[str, Any]:
    """Two groups; B's curve never reaches 50% (median not reached)."""
    return {
        "endpoint": "pfs", "stratifier": "arm", "time_unit": "months",
        "groups": {
            "a": {"label": "Arm A", "time": [0.0, 1.0, 2.0, 4.0, 7.0], "survival": [1.0, 0.8, 0.6, 0.3, 0.3],
                  "censor_times": [2.5, 7.0], "median": 4.0},
            "b": {"label": "Arm B", "time": [0.0, 3.0, 5.0, 9.0, 12.0], "survival": [1.0, 0.9, 0.75, 0.75, 0.6],
                  "censor_times": [5.5, 9.0, 12.0], "median": None},
        },
        "at_risk": {"times": [0, 3, 6, 9, 12], "n": {"a": [10, 6, 2, 0, 0], "b": [8, 8, 5, 3, 1]}},
        "logrank_p": p,
    }


def steps(ax) -> list:
    return [ln for ln in ax.get_lines() if ln.get_drawstyle() == "steps-post"]


def labelled(ax, prefix: str) -> list:
    return [ln for ln in ax.get_lines() if ln.get_label().startswith(prefix)]


# --- Kaplan–Meier -------------------------------------------------------------------------------------------

def test_step_value_is_right_continuous() -> None:
    time, surv = [0.0, 1.0, 2.0], [1.0, 0.8, 0.5]
    assert step_value(time, surv, [0.5, 1.0, 1.99, 2.0, 5.0]).tolist() == [1.0, 0.8, 0.8, 0.5, 0.5]


def test_truncate_steps_ends_at_the_axis() -> None:
    assert truncate_steps([0.0, 1.0, 3.0], [1.0, 0.8, 0.5], 2.0) == ([0.0, 1.0, 2.0], [1.0, 0.8, 0.8])
    assert truncate_steps([0.0, 1.0], [1.0, 0.8], 2.0) == ([0.0, 1.0], [1.0, 0.8])


def test_km_plot_curves_censor_marks_and_medians() -> None:
    fig = km_plot(km_block())
    ax, table = fig.axes
    curves = steps(ax)
    assert len(curves) == 2
    colours = [to_hex(c.get_color()) for c in curves]
    assert colours == ["#0072b2", "#d55e00"]
    censor = labelled(ax, "_censor:")
    assert [len(c.get_xdata()) for c in censor] == [2, 3]
    assert all(c.get_marker() == "+" for c in censor)
    # censor marks sit on the curve: A at 2.5 -> 0.6, 7.0 -> 0.3; B at 5.5 -> 0.75, 9 -> 0.75, 12 -> 0.6
    assert np.allclose(censor[0].get_ydata(), [0.6, 0.3])
    assert np.allclose(censor[1].get_ydata(), [0.75, 0.75, 0.6])
    # a drop line for A only (B's median not reached), plus the line across at 50%
    assert [ln.get_label() for ln in labelled(ax, "_median:")] == ["_median:across", "_median:a"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Arm A, median 4.0 mo", "Arm B, median NR"]
    assert any(t.get_text() == "Log-rank p = 0.012" for t in ax.texts)
    assert ax.get_xlabel() == "Months"
    assert list(ax.get_xticks()) == [0, 3, 6, 9, 12]


def test_km_risk_table_equals_input_counts_under_the_ticks() -> None:
    block = km_block()
    fig = km_plot(block)
    ax, table = fig.axes
    cells = sorted(((-t.get_position()[1], t.get_position()[0]), t.get_text()) for t in table.texts)
    expected = [str(n) for code in ("a", "b") for n in block["at_risk"]["n"][code]]
    assert [text for _, text in cells] == expected
    assert sorted({x for (_, x), _ in cells}) == list(ax.get_xticks())
    labels = {t.get_text(): to_hex(t.get_color()) for t in table.get_yticklabels()}
    assert labels == {"Arm A": "#0072b2", "Arm B": "#d55e00"}


def test_km_formatters_and_percent_axis() -> None:
    fig = km_plot(km_block(p=0.0004), p_formatter=lambda p: f"P={p:.4f}", percent=True,
                  median_formatter=lambda m: "—" if m is None else f"{m:.2f}")
    ax = fig.axes[0]
    assert any(t.get_text() == "P=0.0004" for t in ax.texts)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Arm A, 4.00", "Arm B, —"]
    assert ax.yaxis.get_major_formatter()(0.75, 0) == "75"


def test_km_single_group_has_no_p() -> None:
    block = km_block()
    block["groups"].pop("b")
    block["at_risk"]["n"].pop("b")
    ax, table = km_plot(block).axes
    assert len(steps(ax)) == 1 and not ax.texts
    assert len(table.texts) == 5


def test_legend_columns_fall_back_to_one_when_too_wide() -> None:
    assert legend_columns(["A", "B"], 3.0) == 2
    assert legend_columns(["a very long group label, median 12.3 mo"] * 2, 2.0) == 1


def test_km_panel_grid_four_panels_each_with_a_table() -> None:
    fig = km_panel_grid([km_block()] * 4)
    assert len(fig.axes) == 8
    labels = [t.get_text() for sub in fig.subfigs for t in sub.texts]
    assert labels == ["A", "B", "C", "D"]
    tables = fig.axes[1::2]
    assert all(len(t.texts) == 10 for t in tables)
    with pytest.raises(ValueError, match="panel labels"):
        km_panel_grid([km_block()] * 3, labels="AB")


# --- waterfall ----------------------------------------------------------------------------------------------

WATERFALL = [
    {"best_pct_change": -45.0, "response": "pr", "afp_change": "decreased", "arm": "x"},
    {"best_pct_change": 30.0, "response": "pd", "afp_change": "elevated", "arm": "y"},
    {"best_pct_change": -100.0, "response": "cr", "afp_change": None, "arm": "y"},
    {"best_pct_change": 5.0, "response": "sd", "afp_change": "elevated", "arm": "x"},
    {"best_pct_change": -10.0, "response": "sd", "afp_change": "decreased", "arm": "y"},
]


def test_waterfall_bars_sorted_and_coloured_by_response() -> None:
    fig = waterfall_plot(WATERFALL)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 5
    assert [b.get_height() for b in bars] == [30.0, 5.0, -10.0, -45.0, -100.0]
    expected = [RESPONSE_COLORS[c].lower() for c in ("pd", "sd", "sd", "pr", "cr")]
    assert [to_hex(b.get_facecolor()) for b in bars] == expected
    markers = labelled(ax, "_marker:")
    assert sorted(m.get_label() for m in markers) == ["_marker:decreased"] * 2 + ["_marker:elevated"] * 2
    # markers beyond the bar end: above positive bars, below negative ones
    for m in markers:
        x, y = m.get_xdata()[0], m.get_ydata()[0]
        h = bars[int(x)].get_height()
        assert (y > h) if h >= 0 else (y < h)
    assert sorted(ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--") == [-30.0, 20.0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["CR", "PR", "SD", "PD", "AFP elevated", "AFP decreased"]


def test_waterfall_faceted_by_arm() -> None:
    fig = waterfall_plot(WATERFALL, facet_by="arm", facet_labels={"x": "Arm X"})
    assert [len(ax.patches) for ax in fig.axes] == [2, 3]
    assert [ax.get_title() for ax in fig.axes] == ["Arm X (n = 2)", "y (n = 3)"]


# --- flow chart ---------------------------------------------------------------------------------------------

FLOW = {
    "stages": [{"label": "Screened", "n": 20}, {"label": "Enrolled", "n": 15}],
    "exits": [{"after": 0, "label": "Excluded", "n": 5,
               "lines": [{"label": "Reason one", "n": 2}, {"label": "Reason two", "n": 3}]}],
    "groups": [{"label": "Group 1", "n": 7, "children": [{"label": "1a", "n": 3}, {"label": "1b", "n": 4}]},
               {"label": "Group 2", "n": 8}],
}


def test_flow_chart_boxes_and_counts() -> None:
    fig = flow_chart(FLOW)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 2 + 1 + 2 + 2
    text = "\n".join(t.get_text() for t in ax.texts)
    for needle in ("Screened (n = 20)", "Enrolled (n = 15)", "Excluded (n = 5)", "Reason one (n = 2)",
                   "Reason two (n = 3)", "Group 1 (n = 7)", "Group 2 (n = 8)", "1a (n = 3)", "1b (n = 4)"):
        assert needle in text
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 1 + 1 + 2 + 2  # main, exit, two groups, two children
    for t in ax.texts:  # every text inside the figure
        x, y = t.get_position()
        assert 0 <= x <= fig.get_figwidth() and 0 <= y <= fig.get_figheight()


def test_flow_chart_wraps_long_labels_and_needs_a_stage() -> None:
    long = {"stages": [{"label": "word " * 40, "n": 1}]}
    ax = flow_chart(long).axes[0]
    assert ax.texts[0].get_text().count("\n") >= 2
    assert "(n = 1)" in ax.texts[0].get_text().splitlines()[-1]
    with pytest.raises(ValueError):
        flow_chart({"stages": []})
    with pytest.raises(ValueError, match="between two stages"):
        flow_chart({**FLOW, "exits": [{"after": 1, "label": "Lost", "n": 1}]})


def test_waterfall_of_no_rows_is_an_empty_panel() -> None:
    fig = waterfall_plot([])
    assert not fig.axes[0].patches and not fig.legends


# --- forest plot --------------------------------------------------------------------------------------------

FOREST = [
    {"group": "Univariable", "label": "Age > 60", "hr": 0.5, "ci_lower": 0.3, "ci_upper": 0.9, "p": 0.02},
    {"group": "Univariable", "label": "Sex", "hr": None, "ci_lower": None, "ci_upper": None, "p": None,
     "status": "not_estimable"},
    {"group": "Univariable", "label": "Stage", "hr": 3.0, "ci_lower": 1.2, "ci_upper": 250.0, "p": 0.0001},
    {"group": "Multivariable", "label": "Age > 60", "hr": 0.6, "ci_lower": 0.35, "ci_upper": 1.1, "p": 0.1},
]


def test_forest_plot_rows_text_and_log_axis() -> None:
    fig = forest_plot(FOREST)
    label_ax, ax, text_ax = fig.axes
    assert ax.get_xscale() == "log"
    assert len(labelled(ax, "_hr")) == 3
    assert len(labelled(ax, "_clipped")) == 1  # Stage's upper bound runs off the axis
    null = labelled(ax, "_null")[0]
    assert list(null.get_xdata()) == [1.0, 1.0]
    labels = [t.get_text() for t in label_ax.texts]
    assert labels == ["Univariable", "Age > 60", "Sex", "Stage", "Multivariable", "Age > 60", "Variable"]
    texts = [t.get_text() for t in text_ax.texts]
    assert "not estimable" in texts and "0.50 (0.30–0.90)" in texts and "< 0.001" in texts
    assert texts.count("not estimable") == 1


# --- saving -------------------------------------------------------------------------------------------------

def test_save_figure_svg_is_deterministic_and_png_is_300_dpi(tmp_path: Path) -> None:
    first = save_figure(km_plot(km_block()), tmp_path / "one" / "km")
    second = save_figure(km_plot(km_block()), tmp_path / "two" / "km")
    a, b = Path(first["svg"]).read_bytes(), Path(second["svg"]).read_bytes()
    assert a == b
    assert b"<dc:date>" not in a  # no date
    assert b"<text" in a and (b"Liberation Sans" in a or b"DejaVu Sans" in a)  # text kept as text, font named
    with Image.open(first["png"]) as png:
        assert png.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        expected = (first["width_mm"] / 25.4 * 300, first["height_mm"] / 25.4 * 300)
        assert png.size == pytest.approx(expected, abs=1.0)  # matplotlib truncates to whole pixels
    assert first["width_mm"] == 85.0


def test_save_figure_keeps_dots_in_the_stem(tmp_path: Path) -> None:
    fig = Figure(figsize=(1, 1))
    saved = save_figure(fig, tmp_path / "figure.2a")
    assert saved["svg"].endswith("figure.2a.svg") and Path(saved["png"]).is_file()


def test_font_family_falls_back_to_bundled_font(monkeypatch: pytest.MonkeyPatch) -> None:
    fig_style.font_family.cache_clear()
    monkeypatch.setattr(fig_style, "PREFERRED_FONTS", ("No Such Font Family",))
    try:
        assert fig_style.font_family() == ("DejaVu Sans",)
    finally:
        fig_style.font_family.cache_clear()


def test_flow_exit_does_not_repeat_its_only_reason() -> None:
    """Regression: an exit whose single reason is the exit itself (same label, same n) printed it twice."""
    facts = {**FLOW, "exits": [{"after": 0, "label": "Not treated", "n": 5,
                                "lines": [{"label": "Not treated", "n": 5}]}]}
    text = "\n".join(t.get_text() for t in flow_chart(facts).axes[0].texts)
    assert text.count("Not treated") == 1
    text = "\n".join(t.get_text() for t in flow_chart(FLOW).axes[0].texts)
    assert "Reason one (n = 2)" in text and "Reason two (n = 3)" in text
