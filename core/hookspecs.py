"""The whole plugin contract of crmkpi. Every hook is prefixed ``crmkpi_``.

Plugins are modules or objects with functions marked by :data:`core.plugins.hookimpl`,
found through the ``crmkpi.connectors`` entry-point group. pluggy matches implementations
to these specs by argument name, so argument names are part of the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pluggy

if TYPE_CHECKING:
    from core.sync.connector import Connector

_F = TypeVar("_F", bound=Callable[..., Any])
_hookspec = pluggy.HookspecMarker("crmkpi")


#: Typed wrapper so mypy keeps each spec's signature (tox's style).
_spec = cast(Callable[[_F], _F], _hookspec)


@_spec
def crmkpi_connector_class() -> type[Connector]:
    """Return the Connector subclass this plugin provides.

    Called once when the plugin manager is asked for the available connectors (API start-up,
    CLI, workers). Every plugin returns its own class; all results are collected.

    The class declares, as class attributes: ``name``, ``title``, ``default_base_url``,
    ``credential_fields`` (which are secret, which required) and ``rate_limit`` (the CRM's
    allowance per account and its quota headers); ``streams()`` lists its streams in
    dependency order, each with a full read, optionally an incremental read from a
    ``Cursor`` (last-modified time, then remote id) and a deletions listing, and pure
    ``map()`` functions from raw JSON to ``core.sync.records``. ``authenticate()`` returns
    headers for requests (``refresh=True`` after a 401). The engine (``core.sync.runner``)
    owns everything else: paging loops, concurrency, the rate limiter, retries, auth
    refresh, cursors, writes, quarantine and run bookkeeping. Optional: ``simulator()``
    and ``simulator_credentials()`` for ``crmkpi simulate``.

    Args:
        (none)

    Returns:
        A subclass of ``core.sync.connector.Connector`` whose ``name`` is unique.
    """
    raise NotImplementedError


@_spec
def crmkpi_register_metrics(registry: Any) -> None:
    """Add KPI definitions to ``registry``.

    Called once when the metrics registry is built, after the built-in KPIs are registered,
    so a plugin may define KPIs in terms of built-in measures.

    Args:
        registry: the ``core.metrics.registry.MetricRegistry`` being built.

    Returns:
        None; the plugin calls ``registry.register(...)``.
    """


@_spec
def crmkpi_sync_finished(
    connection_id: str, run_id: int, status: str, stats: dict[str, Any]
) -> None:
    """Notified after a sync run ends and its bookkeeping is committed.

    Called in the process that ran the sync, for every run, whatever its status.

    Args:
        connection_id: the connection that was synced.
        run_id: the ``sync_runs`` row id.
        status: SUCCEEDED, PARTIAL or FAILED.
        stats: per-stream counts, as stored in ``sync_runs.stream_stats``.

    Returns:
        None; exceptions raised by implementations are logged and ignored.
    """
