"""`crmkpi sync CONNECTION_ID`: one sync run with live progress per stream and a summary.

Exit status: 0 succeeded (streams skipped for a capability the account lacks included),
2 partial (a stream failed, was blocked by a failed one or stopped at the daily API limit,
or records were quarantined: the summary names them and why), 1 failed.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
import time
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from api.commands.common import console, database, out, run
from core.models.enums import SyncMode, SyncStatus
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.settings import get_settings
from core.sync.runner import SyncOptions, SyncResult, run_sync
from core.sync.runs import RunStats, StreamStatus

#: ``crmkpi sync`` exit status per run status (README, --help).
EXIT_CODES = {SyncStatus.SUCCEEDED: 0, SyncStatus.PARTIAL: 2, SyncStatus.FAILED: 1}

_COLUMNS = (
    "stream",
    "status",
    "records",
    "rate/s",
    "inserted",
    "updated",
    "deleted",
    "quarantined",
)


def _table(stats: RunStats, started: float, *, title: str) -> Table:
    elapsed = max(time.monotonic() - started, 1e-6)
    table = Table(*_COLUMNS, title=title)
    for name, s in stats.streams.items():
        finished = (StreamStatus.DONE, StreamStatus.FAILED, StreamStatus.STOPPED)
        seconds = s.seconds if s.status in finished and s.seconds else elapsed
        table.add_row(
            name,
            s.status if not s.error else f"{s.status}: {s.error}",
            f"{s.fetched:,}",
            f"{s.fetched / seconds:,.0f}" if s.fetched else "",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            f"{s.deleted:,}",
            f"{s.quarantined:,}",
        )
    table.caption = f"requests {stats.requests:,} · retries {stats.retries:,} · {elapsed:.1f}s"
    return table


def result_json(result: SyncResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "connection_id": result.connection_id,
        "status": result.status.value,
        "error": result.error,
        "records": result.records,
        "seconds": round(result.seconds, 3),
        "records_per_second": round(result.records / result.seconds, 1) if result.seconds else 0,
        "requests": result.stats.requests,
        "retries": result.stats.retries,
        "streams": result.stats.to_json(),
        "exit_code": EXIT_CODES.get(result.status, 1),
        "incomplete": {name: s.error for name, s in result.stats.incomplete().items()},
        "skipped": {
            name: s.error
            for name, s in result.stats.streams.items()
            if s.status == StreamStatus.SKIPPED
        },
    }


def partial_reasons(stats: RunStats) -> list[str]:
    """One line per stream that left the run partial, and the quarantine count."""
    lines = [
        f"stream {name} {s.status.lower()}: {s.error or 'no reason given'}"
        for name, s in stats.incomplete().items()
    ]
    if stats.quarantined:
        lines.append(
            f"{stats.quarantined:,} records quarantined (see the connection's quarantined records)"
        )
    return lines


def sync(
    connection_id: str,
    full: Annotated[
        bool, typer.Option("--full", help="Read everything, not only changes.")
    ] = False,
    stream: Annotated[
        list[str] | None, typer.Option("--stream", help="Only this stream (repeatable).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Streams synced at the same time.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Sync one connection now (refused if it is already being synced).

    Exit status: 0 succeeded (streams skipped because the account lacks a capability
    included), 2 partial (the streams that failed are named, with why), 1 failed.
    """
    settings = get_settings()
    vault = Vault.from_settings(settings)
    pm = create_plugin_manager()
    started = time.monotonic()
    mode = SyncMode.FULL if full else SyncMode.INCREMENTAL
    title = f"sync {connection_id} ({mode.value.lower()})"

    async def _sync(live: Live | None) -> SyncResult:
        def progress(name: str, _: Any, stats: RunStats) -> None:
            if live is not None:
                live.update(_table(stats, started, title=title))

        options = SyncOptions(mode=mode, streams=stream, concurrency=concurrency, progress=progress)
        async with database(settings) as (engine, _):
            return await run_sync(connection_id, engine=engine, pm=pm, vault=vault, options=options)

    if as_json:
        result = run(_sync(None))
        out.print_json(json.dumps(result_json(result)))
    else:
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            result = run(_sync(live))
        out.print(_table(result.stats, started, title=f"{title}: {result.status.value}"))
        out.print(
            f"{result.status.value}: {result.records:,} records in {result.seconds:.1f}s "
            f"({result.records / max(result.seconds, 1e-6):,.0f}/s), run {result.run_id}"
        )
        if result.status is SyncStatus.PARTIAL:
            for line in partial_reasons(result.stats):
                console.print(f"[yellow]partial:[/] {line}", highlight=False)
        elif result.error:
            console.print(f"[red]error:[/] {result.error}", highlight=False)
    code = EXIT_CODES.get(result.status, 1)
    if code:
        raise typer.Exit(code)
