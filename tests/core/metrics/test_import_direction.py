"""core.targets writes targets and imports core.metrics; core.metrics reads them through its
own target_match module and never imports core.targets (issue #19, deliverable 5): no
import cycle, so either package can be imported first and changed on its own."""

from __future__ import annotations

import ast
from pathlib import Path

METRICS = Path(__file__).resolve().parents[3] / "core" / "metrics"


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_core_metrics_never_imports_core_targets() -> None:
    modules = sorted(METRICS.glob("*.py"))
    assert len(modules) > 20, "core/metrics not found"
    offenders = {
        path.name: sorted(
            n for n in _imported(path) if n == "core.targets" or n.startswith("core.targets.")
        )
        for path in modules
    }
    assert {k: v for k, v in offenders.items() if v} == {}
