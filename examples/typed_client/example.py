"""The typed client in use: this quarter's tiles and pipelines of every workspace.

    CRMKPI_URL=http://127.0.0.1:8000/graphql CRMKPI_API_KEY=ck_... python example.py

Every answer is a pydantic model generated from schema.graphql and queries.graphql, so a
field the server renamed or removed fails at `make test` (the client is regenerated and
compared there), not in production.
"""

from __future__ import annotations

import asyncio
import os

from crmkpi_client import Comparison, CrmkpiClient, PeriodInput, PeriodPreset


async def main() -> None:
    client = CrmkpiClient(
        url=os.environ.get("CRMKPI_URL", "http://127.0.0.1:8000/graphql"),
        headers={"Authorization": f"Bearer {os.environ['CRMKPI_API_KEY']}"},
    )
    for workspace in (await client.workspaces()).workspaces:
        tiles = await client.tiles(
            workspace.id,
            PeriodInput(preset=PeriodPreset.THIS_QUARTER),
            compare_to=Comparison.PREVIOUS_PERIOD,
        )
        revenue = tiles.metrics.sales_revenue
        print(
            f"{workspace.name}: revenue {revenue.value if revenue else None} {workspace.currency}"
        )
        for pipeline in (await client.pipelines([workspace.id])).pipelines:
            print("  ", pipeline.name, " > ".join(s.name or "?" for s in pipeline.stages))


if __name__ == "__main__":
    asyncio.run(main())
