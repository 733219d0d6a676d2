"""The plugin contract is documented, prefixed, and loadable from the environment."""

from __future__ import annotations

import inspect

import pytest

from core import hookspecs
from core.plugins import connector_classes, create_plugin_manager
from tests.plugins.testcrm.connector import TestCrmConnector


def _specs() -> list[object]:
    return [
        obj
        for name, obj in vars(hookspecs).items()
        if inspect.isfunction(obj) and name.startswith("crmkpi_")
    ]


def test_every_hookspec_is_prefixed_and_documented() -> None:
    specs = _specs()
    assert len(specs) >= 3
    for spec in specs:
        doc = inspect.getdoc(spec) or ""
        assert "Args:" in doc and "Returns:" in doc and "Called" in doc, spec


def test_plugins_from_the_environment_are_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMKPI_PLUGINS", "tests.plugins.testcrm")
    classes = connector_classes(create_plugin_manager())
    assert classes["testcrm"] is TestCrmConnector
    monkeypatch.delenv("CRMKPI_PLUGINS")
    assert "testcrm" not in connector_classes(create_plugin_manager())


def test_the_test_connector_fulfils_the_contract() -> None:
    streams = TestCrmConnector().streams()
    names = [s.name for s in streams]
    assert len(names) == len(set(names))
    for stream in streams:
        assert all(dep in names[: names.index(stream.name)] for dep in stream.depends_on)
    assert TestCrmConnector.simulator_credentials()
