"""`crmkpi simulate NAME`: a connector's CRM simulator on its own, until Ctrl-C."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
from typing import Annotated

import typer

from api.commands.common import out
from core.errors import ConfigurationError
from core.plugins import connector_classes, create_plugin_manager
from core.simulation.faults import FaultSpec
from core.simulation.options import Account, SimulatorOptions
from core.sync.connections import connector_class


def simulate(
    name: str,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the generated dataset.")] = 1,
    deals: Annotated[int, typer.Option(help="How many deals the dataset holds.")] = 1000,
    faults: Annotated[
        str | None,
        typer.Option(help='Faults to inject, e.g. "5xx=0.1,429every=7,drop=0.01,latency=200ms".'),
    ] = None,
    account: Annotated[
        Account,
        typer.Option(
            case_sensitive=False,
            help="Account variant: minimal lacks the optional objects and features, full "
            "has all of them.",
        ),
    ] = Account.FULL,
    rate_limit: Annotated[
        bool,
        typer.Option(
            "--rate-limit", help="Enforce the CRM's documented rate limits with its own answers."
        ),
    ] = False,
    history_batch: Annotated[
        int | None,
        typer.Option(
            min=1, help="Salesforce: child-subquery batch size (forces paged subqueries)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Serve NAME's simulator; prints its base URL and the credentials it accepts."""
    FaultSpec.parse(faults)  # a bad spec fails here, with its explanation
    cls = connector_class(connector_classes(create_plugin_manager()), name)
    options = SimulatorOptions(
        seed=seed,
        deals=deals,
        faults=faults,
        account=account,
        rate_limit=rate_limit,
        history_batch=history_batch,
    )
    app = cls.simulator(options)
    if app is None:
        raise ConfigurationError(f"connector {name!r} ships no simulator")
    base_url = f"http://{host}:{port}"
    credentials = cls.simulator_credentials()
    if as_json:
        out.print_json(json.dumps({"base_url": base_url, "credentials": credentials}))
    else:
        out.print(
            f"{cls.title} simulator at {base_url} (seed {seed}, {deals} deals, "
            f"{account.value} account)"
        )
        out.print(
            "credentials: " + " ".join(f"--credential {k}={v}" for k, v in credentials.items())
        )
        out.print(
            f"  crmkpi connection add --workspace WS --connector {name} --base-url {base_url}"
        )
        out.print(base_url)
    import uvicorn  # only this command serves: not every crmkpi command's start-up

    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
