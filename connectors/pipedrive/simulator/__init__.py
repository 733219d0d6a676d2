"""The Pipedrive simulator: an ASGI app serving the shared simulated business in
Pipedrive's documented shapes (tests, ``crmkpi simulate pipedrive``, the demo, bench).

It is kept apart from the connector: the connector never imports it, so nothing of the
simulator's reading of the API can leak into product code.
"""

from __future__ import annotations

from connectors.pipedrive.simulator.app import (
    API_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    PipedriveSimulator,
    create_app,
)

__all__ = ["API_TOKEN", "CLIENT_ID", "CLIENT_SECRET", "PipedriveSimulator", "create_app"]
