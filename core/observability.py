"""A sync's count of its CRM calls, kept by the process that exports metrics.

Every answer from a CRM is counted here (core.sync.http). The counters are Prometheus's
(core.prometheus), in the processes that have them: the API, which serves them at /metrics,
and a worker. Why they are not imported here: prometheus_client costs some 10 ms of CPU
to import, in every process that syncs, and the one-shot ``crmkpi sync`` (or the bench's
sync child) never exports what it counts. There, a response is counted by nothing.
"""

from __future__ import annotations

from collections.abc import Callable

#: Counts one CRM answer (connector name, HTTP status); set by core.prometheus on import.
_counter: Callable[[str, int], None] | None = None


def count_crm_responses(counter: Callable[[str, int], None]) -> None:
    """Count every CRM answer from now on with ``counter``."""
    global _counter
    _counter = counter


def record_crm_response(connector: str, status: int) -> None:
    if _counter is not None:
        _counter(connector, status)
