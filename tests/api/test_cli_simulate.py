"""`crmkpi simulate NAME` hands its options to the connector's simulator (issue #23: the
simulators' own rate limits, account variants and paged subqueries switch on from the CLI;
each connector's tests check that the options reach its simulator's behaviour)."""

from __future__ import annotations

import pytest
import uvicorn
from typer.testing import CliRunner

from api import cli
from connectors.hubspot.connector import HubSpotConnector
from connectors.pipedrive.connector import PipedriveConnector
from connectors.salesforce.connector import SalesforceConnector
from core.simulation.options import Account, SimulatorOptions


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[SimulatorOptions]:
    """The options each connector's simulator is built from (uvicorn is not started)."""
    options: list[SimulatorOptions] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: None)
    for connector in (HubSpotConnector, PipedriveConnector, SalesforceConnector):
        monkeypatch.setattr(connector, "simulator", classmethod(lambda cls, o: options.append(o)))
    return options


@pytest.mark.parametrize("name", ["hubspot", "pipedrive", "salesforce"])
def test_every_simulator_option_comes_from_the_command_line(
    asked: list[SimulatorOptions], name: str
) -> None:
    runner = CliRunner()
    args = ["simulate", name, "--seed", "4", "--deals", "20", "--faults", "5xx=0.5"]
    args += ["--account", "minimal", "--rate-limit", "--history-batch", "5"]
    assert runner.invoke(cli.app, args).exit_code == 1  # the patched simulator gave no app
    assert runner.invoke(cli.app, ["simulate", name]).exit_code == 1
    given, default = asked
    assert given == SimulatorOptions(
        seed=4,
        deals=20,
        faults="5xx=0.5",
        account=Account.MINIMAL,
        rate_limit=True,
        history_batch=5,
    )
    assert default == SimulatorOptions(seed=1, deals=1000, account=Account.FULL)
