"""What every benchmark returns, and how the results are written.

A benchmark module ``bench/<name>_bench.py`` exposes ``run(ctx: BenchContext) ->
list[Measurement]``. Each measurement carries the baseline measured in the same run (a peer,
hand-written SQL, or the physical limit) and the target, so RESULTS.md shows them side by side.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).parent
RESULTS_MD = BENCH_DIR / "RESULTS.md"
RESULTS_JSON = BENCH_DIR / "results.json"


@dataclass
class Measurement:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    notes: str = ""
    #: Key in results.json (numbers only), when this measurement is one of the tracked keys.
    key: str | None = None


@dataclass
class BenchContext:
    """Shared resources: scratch directory and, when started, a PostgreSQL cluster."""

    workdir: Path
    quick: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def machine() -> dict[str, str]:
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pg = "not found"
    versions = {
        name: metadata.version(name)
        for name in (
            "sqlalchemy",
            "asyncpg",
            "aiosqlite",
            "httpx",
            "orjson",
            "strawberry-graphql",
            "procrastinate",
        )
    }
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu} ({os.cpu_count()} cores)",
        "python": sys.version.split()[0],
        "postgresql": pg,
        **versions,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def write_results(
    sections: dict[str, list[Measurement]],
    errors: dict[str, str],
    *,
    quick: bool = False,
    took: dict[str, float] | None = None,
    partial: bool = True,
) -> None:
    info = machine()
    info["sizes"] = "--quick (small sizes: not the issue's)" if quick else "full"
    if took:
        parts = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in took.items())
        info["bench time"] = f"{sum(took.values()) / 60:.1f} min ({parts})"
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench`; every number below was measured in the same run as its baseline.",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    for section, measurements in sections.items():
        lines += [
            "",
            f"## {section}",
            "",
            "| measurement | value | unit | baseline | baseline value | target | notes |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in measurements:
            lines.append(
                f"| {m.name} | {_fmt(m.value)} | {m.unit} | {m.baseline_name} | "
                f"{_fmt(m.baseline)} | {m.target} | {m.notes} |"
            )
    lines += _kept_sections(set(sections) | set(errors))
    if errors:
        lines += ["", "## Benchmarks that did not complete", ""]
        lines += [f"- `{name}`: {error}" for name, error in errors.items()]
    RESULTS_MD.write_text("\n".join(lines) + "\n")
    keyed = {m.key: m.value for ms in sections.values() for m in ms if m.key}
    # A partial run keeps the other modules' keys; a full run writes only its own, so a key
    # a module no longer measures does not linger.
    previous = json.loads(RESULTS_JSON.read_text()) if partial and RESULTS_JSON.exists() else {}
    merged = {**previous, "machine": info, **keyed}
    RESULTS_JSON.write_text(json.dumps(merged, indent=2, default=str) + "\n")


def _kept_sections(rerun: set[str]) -> list[str]:
    """Sections of the previous RESULTS.md whose benchmark was not run this time (a partial
    ``python -m bench NAME`` run replaces its own section only), with their notes."""
    if not RESULTS_MD.exists():
        return []
    kept: list[str] = []
    for block in RESULTS_MD.read_text().split("\n## ")[1:]:
        name = block.split("\n", 1)[0].strip()
        if name not in rerun and name != "Benchmarks that did not complete":
            kept += ["", f"## {block.rstrip()}"]
    return kept


def as_json(measurements: list[Measurement]) -> list[dict[str, Any]]:
    return [asdict(m) for m in measurements]
