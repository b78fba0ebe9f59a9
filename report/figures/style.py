"""House style for every figure: fonts (with a clean fallback), sizes, colour-blind-safe palette, rc settings.

Figures are built and saved inside `figure_style()`, so fonts and sizes do not depend on the caller's rcParams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache, wraps
from typing import ParamSpec, TypeVar

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

MM = 1 / 25.4
COLUMN_WIDTH_IN = 85 * MM   # one column of a two-column A4 journal page
FULL_WIDTH_IN = 174 * MM    # full text width of an A4 page

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
GREY = "#7F7F7F"
LIGHT_GREY = "#BDBDBD"

BASE_PT = 8.0
SMALL_PT = 7.0

# Metric-compatible with Arial/Helvetica (what journals ask for) first; DejaVu Sans ships with matplotlib.
PREFERRED_FONTS = ("Liberation Sans", "Noto Sans", "DejaVu Sans")


@cache
def font_family() -> tuple[str, ...]:
    """The preferred fonts that are installed, in order; DejaVu Sans (bundled with matplotlib) always last."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in PREFERRED_FONTS if name in installed]
    return tuple(found) if "DejaVu Sans" in found else (*found, "DejaVu Sans")


def rc_params() -> dict[str, object]:
    return {
        "font.family": list(font_family()),
        "font.size": BASE_PT,
        "axes.titlesize": BASE_PT,
        "axes.labelsize": BASE_PT,
        "xtick.labelsize": SMALL_PT,
        "ytick.labelsize": SMALL_PT,
        "legend.fontsize": SMALL_PT,
        "axes.linewidth": 0.6,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "lines.linewidth": 1.1,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.unicode_minus": True,
        "legend.frameon": False,
        "text.usetex": False,
        "figure.dpi": 100,
        # Text as text, not outlines: SVGs are 3-8x smaller and WeasyPrint typesets the PDF about 2x faster.
        # The fonts named above are installed by the project (Liberation Sans; Arial/Helvetica are its metric
        # equivalents elsewhere), so WeasyPrint and Chromium lay the labels out as matplotlib measured them.
        "svg.fonttype": "none",
        "svg.hashsalt": "paperlock",
        "pdf.fonttype": 42,
    }


@contextmanager
def figure_style() -> Iterator[None]:
    with mpl.rc_context(rc_params()):
        yield


P = ParamSpec("P")
R = TypeVar("R")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a figure builder inside `figure_style()`."""
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with figure_style():
            return func(*args, **kwargs)
    return wrapper


def palette(codes: Sequence[str], colors: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per group code: the caller's choice where given, else Okabe–Ito in order."""
    colors = colors or {}
    out: dict[str, str] = {}
    free = iter(c for c in OKABE_ITO if c not in colors.values())
    for code in codes:
        out[code] = colors.get(code) or next(free, GREY)
    return out


@cache
def _text_to_path() -> TextToPath:
    return TextToPath()


def text_width_pt(text: str, size: float = BASE_PT, weight: str = "normal") -> float:
    """Width of one line of `text` in points, in the house font (for wrapping and legend layout)."""
    prop = FontProperties(family=list(font_family()), size=size, weight=weight)
    width, _height, _descent = _text_to_path().get_text_width_height_descent(text, prop, ismath=False)
    return float(width)
