"""Write a figure as SVG (vector, for HTML/PDF embedding) and a 300-dpi PNG beside it, deterministically."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from report.figures.style import figure_style

PNG_DPI = 300


def save_figure(fig: Figure, stem: str | Path) -> dict[str, object]:
    """Save `fig` as `<stem>.svg` and `<stem>.png`; return the paths and the size in millimetres.

    The SVG carries no date and uses a fixed hash salt, so the same figure gives the same bytes on every run.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    svg, png = stem.parent / f"{stem.name}.svg", stem.parent / f"{stem.name}.png"
    with figure_style():
        fig.savefig(svg, format="svg", metadata={"Date": None})
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    width, height = fig.get_size_inches()
    return {"svg": str(svg), "png": str(png), "width_mm": round(float(width) * 25.4, 1),
            "height_mm": round(float(height) * 25.4, 1), "dpi": PNG_DPI}
