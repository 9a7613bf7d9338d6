"""The names `gridsim/cli/plot.py` imports, re-exported from where they live.

Kept only until the CLI imports from the modules themselves (gridsim.results.loaders,
gridsim.viz.figures, .maps, .staffing, .style); nothing else may import this module.
"""

from gridsim.results.loaders import NotAResultsDir, RunData, load_results
from gridsim.viz.figures import KINDS, kinds_for, save_figures
from gridsim.viz.maps import MAP_METRICS_HELP, check_map_metric
from gridsim.viz.staffing import resolve_metric_column
from gridsim.viz.style import FORMATS, NotApplicable

__all__ = ["FORMATS", "KINDS", "MAP_METRICS_HELP", "NotAResultsDir", "NotApplicable", "RunData", "check_map_metric",
           "kinds_for", "load_results", "resolve_metric_column", "save_figures"]
