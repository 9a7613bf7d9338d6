"""Figures and the HTML report, from saved results (read through gridsim.results.loaders).

    notes        comments of scenario files (what a key means, its source or assumption)
    labels       titles, captions, stage and metric labels from domain names and the run's targets
    style        palette, rc style, figure helpers, NotApplicable, atomic saving
    variants     order and colours of an experiment's variants
    ecdf, histograms, divisions, hourly, maps, staffing, utilisation
                 one module per figure subject
    figures      the registry: KINDS, kinds_for, make_figure, save_figures
    report       the self-contained report.html
    plots        only the names gridsim/cli/plot.py still imports (to be removed)
"""
