"""The package's shape: layers point one way and no module imports itself round a cycle.

The layers contract lives in pyproject.toml ([tool.importlinter]); this test runs it so CI
(which runs pytest) fails on an arrow pointing up. Cycles are checked on the whole module
graph, including imports inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _module_graph() -> nx.DiGraph:
    g = grimp.build_graph("gridsim", exclude_type_checking_imports=False)
    out = nx.DiGraph()
    for m in g.modules:
        out.add_node(m)
        for i in g.find_modules_directly_imported_by(m):
            out.add_edge(m, i)
    return out


def test_layers_contract_is_kept():
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_import_cycles():
    cycles = [sorted(c) for c in nx.strongly_connected_components(_module_graph()) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_cycle_check_can_fail():
    """The checker itself finds a planted cycle (so a pass above means something)."""
    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    assert [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1] == [["a", "b", "c"]]
