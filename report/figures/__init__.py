"""Manuscript figures: pure functions from results.json blocks to matplotlib Figures, and `save_figure`.

The Agg backend is selected here: figures are rendered to files, never shown.
"""

import matplotlib

matplotlib.use("Agg")

from report.figures.flow import flow_chart  # noqa: E402
from report.figures.forest import forest_plot  # noqa: E402
from report.figures.km import km_panel_grid, km_plot  # noqa: E402
from report.figures.save import save_figure  # noqa: E402
from report.figures.waterfall import waterfall_plot  # noqa: E402

__all__ = ["flow_chart", "forest_plot", "km_panel_grid", "km_plot", "save_figure", "waterfall_plot"]
