"""The plugin manager factory (no global manager: tests build their own)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy
import structlog

from core import hookspecs

if TYPE_CHECKING:
    from core.sync.connector import Connector

ENTRY_POINT_GROUP = "crmkpi.connectors"
hookimpl = pluggy.HookimplMarker("crmkpi")
_log = structlog.get_logger(__name__)


def create_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Sequence[object] = ()
) -> pluggy.PluginManager:
    """A manager with the hookspecs, ``plugins`` registered and, optionally, entry points.

    With entry points, ``CRMKPI_PLUGINS`` (comma-separated module names) registers more
    plugin modules, for a connector under development that is not packaged yet.
    ``CRMKPI_TRACE_PLUGINS=1`` logs every hook call.
    """
    pm = pluggy.PluginManager("crmkpi")
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin)
    if load_entrypoints:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for module_name in filter(None, os.environ.get("CRMKPI_PLUGINS", "").split(",")):
            module_name = module_name.strip()
            if pm.get_plugin(module_name) is None:
                pm.register(importlib.import_module(module_name), name=module_name)
    if os.environ.get("CRMKPI_TRACE_PLUGINS") == "1":

        def before(hook_name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
            _log.debug("hook.call", hook=hook_name, plugins=[i.plugin_name for i in impls])

        def after(outcome: Any, hook_name: str, impls: Any, kwargs: Mapping[str, Any]) -> None:
            _log.debug("hook.done", hook=hook_name)

        pm.add_hookcall_monitoring(before, after)
    return pm


def connector_classes(pm: pluggy.PluginManager) -> dict[str, type[Connector]]:
    """Connector classes by name; a duplicate name is a configuration error."""
    found: dict[str, type[Connector]] = {}
    for cls in pm.hook.crmkpi_connector_class():
        if cls.name in found:
            raise ValueError(f"two plugins provide a connector named {cls.name!r}")
        found[cls.name] = cls
    return dict(sorted(found.items()))
