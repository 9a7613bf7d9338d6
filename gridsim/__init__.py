"""gridsim: a simulation of Suzhou's grid-based social governance (网格化社会治理).

Data flows one way: scenario -> city -> model -> records -> metrics; experiments, tuning,
plots and reports sit on top. See README.md.
"""

__version__ = "0.1.0"
