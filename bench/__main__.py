"""Run every benchmark module in one go and rewrite RESULTS.md / results.json.

``python -m bench [--quick] [name ...]`` runs only the named modules (``sync``, ``metrics``,
...); ``--quick`` (or ``CRMKPI_BENCH_QUICK=1``) runs the modules that support it smaller.
A benchmark that fails is reported in RESULTS.md instead of stopping the others.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.harness import BenchContext, Measurement, write_results

MODULES = ("sync", "peer", "scheduling", "ratelimit", "graphql", "metrics", "lifecycle", "load")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv or bool(os.environ.get("CRMKPI_BENCH_QUICK"))
    names = [a for a in argv if a != "--quick"] or list(MODULES)
    sections: dict[str, list[Measurement]] = {}
    errors: dict[str, str] = {}
    took: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
        ctx = BenchContext(workdir=Path(tmp), quick=quick)
        for name in names:
            started = time.perf_counter()
            print(f"== bench {name}", flush=True)
            try:
                module = importlib.import_module(f"bench.{name}_bench")
                sections[name] = module.run(ctx)
            except Exception as exc:  # report and go on with the other benchmarks
                traceback.print_exc()
                errors[name] = f"{type(exc).__name__}: {exc}"
            took[name] = time.perf_counter() - started
            print(f"== bench {name} done in {took[name]:.1f}s", flush=True)
    write_results(sections, errors, quick=quick, took=took, partial=set(names) != set(MODULES))
    print(Path("bench/RESULTS.md").read_text())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
