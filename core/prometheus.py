"""Prometheus metrics of syncs, CRM calls and the API, served at /metrics.

Sync counters are fed by a ``crmkpi_sync_finished`` hook implementation (the plugin system's
own notification), so any process that runs syncs (the API's embedded scheduler or a worker)
counts them without the sync engine knowing about Prometheus. CRM calls are counted through
core.observability once this module is imported (a process that syncs without exporting
metrics does not import prometheus_client).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from core.observability import count_crm_responses
from core.plugins import hookimpl

SYNC_RUNS = Counter("crmkpi_sync_runs_total", "Sync runs by connector status.", ["status"])
SYNC_RECORDS = Counter(
    "crmkpi_sync_records_total", "Records fetched, by stream and outcome.", ["stream", "outcome"]
)
SYNC_SECONDS = Histogram(
    "crmkpi_sync_stream_seconds",
    "Duration of each stream of a sync run.",
    ["stream"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800),
)
CRM_ERRORS = Counter(
    "crmkpi_crm_error_responses_total",
    "CRM answers that were not successful (429s, 5xx, other 4xx), by connector and status.",
    ["connector", "status"],
)
CRM_REQUESTS = Counter("crmkpi_crm_requests_total", "Requests sent to CRMs.", ["connector"])
GRAPHQL_SECONDS = Histogram(
    "crmkpi_graphql_seconds",
    "GraphQL operation latency by operation name.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


class SyncMetricsPlugin:
    """Counts every finished sync run (registered by the API and the workers)."""

    @hookimpl
    def crmkpi_sync_finished(
        self, connection_id: str, run_id: int, status: str, stats: dict[str, Any]
    ) -> None:
        SYNC_RUNS.labels(status=status).inc()
        for stream, counts in stats.items():
            for outcome in ("inserted", "updated", "unchanged", "deleted", "quarantined"):
                value = counts.get(outcome) or 0
                if value:
                    SYNC_RECORDS.labels(stream=stream, outcome=outcome).inc(value)
            if counts.get("seconds"):
                SYNC_SECONDS.labels(stream=stream).observe(float(counts["seconds"]))


def _count_crm_response(connector: str, status: int) -> None:
    CRM_REQUESTS.labels(connector=connector).inc()
    if status >= 400:
        CRM_ERRORS.labels(connector=connector, status=str(status)).inc()


count_crm_responses(_count_crm_response)
