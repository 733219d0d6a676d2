"""The sync against its open-source peers, in one run on one HubSpot simulator.

The Meltano ``tap-hubspot`` (singer-sdk, the tap in use today) over the eight object types
is the baseline that counts (bench.peer_meltano); the legacy singer-io ``tap-hubspot``
4.5.0 on contacts is kept as a second, labelled line (bench.peer_tap).
"""

from __future__ import annotations

from typing import Any

from bench import peer_meltano, peer_tap
from bench.harness import BenchContext, Measurement


def run(ctx: BenchContext) -> list[Measurement]:
    from tests.support.postgres import start_cluster

    cluster: Any = ctx.extra.get("pg_cluster") or start_cluster()
    try:
        return peer_meltano.peer_measurements(ctx, cluster) + peer_tap.peer_measurements(
            ctx, cluster
        )
    finally:
        if "pg_cluster" not in ctx.extra:
            cluster.stop()
