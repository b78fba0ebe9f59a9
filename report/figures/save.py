"""Write a figure as SVG (vector, for HTML/PDF embedding) and a 300-dpi PNG beside it, deterministically."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from report.figures.style import figure_style

PNG_DPI = 300


def figure_paths(stem: str | Path) -> tuple[Path, Path]:
    """(`<stem>.svg`, `<stem>.png`); a dot in the stem is kept (`figure.2a` -> `figure.2a.svg`)."""
    stem = Path(stem)
    return stem.parent / f"{stem.name}.svg", stem.parent / f"{stem.name}.png"


def save_svg(fig: Figure, stem: str | Path) -> Path:
    """Save `fig` as `<stem>.svg`: no date, a fixed hash salt, so the same figure gives the same bytes."""
    svg, _ = figure_paths(stem)
    svg.parent.mkdir(parents=True, exist_ok=True)
    with figure_style():
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return svg


def save_png(fig: Figure, stem: str | Path) -> Path:
    """Save `fig` as a 300-dpi `<stem>.png` without a software stamp.

    Call it after `save_svg` on the same figure: the layout engine runs at every save, and the PNG is defined
    as the one laid out after the SVG (so both show the same placement)."""
    _, png = figure_paths(stem)
    png.parent.mkdir(parents=True, exist_ok=True)
    with figure_style():
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return png


def save_figure(fig: Figure, stem: str | Path) -> dict[str, object]:
    """Save `fig` as `<stem>.svg` and `<stem>.png`; return the paths and the size in millimetres."""
    svg = save_svg(fig, stem)
    png = save_png(fig, stem)
    width, height = fig.get_size_inches()
    return {"svg": str(svg), "png": str(png), "width_mm": round(float(width) * 25.4, 1),
            "height_mm": round(float(height) * 25.4, 1), "dpi": PNG_DPI}
