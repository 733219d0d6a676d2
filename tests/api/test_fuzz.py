"""Schemathesis against the GraphQL endpoint: random valid operations never get a 500.

Schemathesis reads the schema (introspection) and generates queries and mutations with
arguments for every root field, scalars included; each is sent over HTTP with a random key
of a seeded tenant (admin, editor, viewer or workspace-limited). Any HTTP 5xx, or a masked
internal error ("Unexpected error."), fails the run. Bounded: a fixed number of examples,
derandomized, so ``make test`` stays fast and repeatable.

Cases are only *generated* by schemathesis; they are sent with our in-process client so
that the app, its engine and asyncpg share one event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date
from typing import Any

import pytest
import schemathesis
from graphql import get_introspection_query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from api.schema import create_schema
from core.db import create_engine, create_sessionmaker
from tests.conftest import _truncate
from tests.support.api import api_client
from tests.support.records import create_tenant

EXAMPLES = 150

schemathesis.graphql.scalar(
    "Date",
    st.dates(date(1900, 1, 1), date(2100, 1, 1)).map(lambda d: nodes.String(d.isoformat()))
    | st.text(max_size=12).map(nodes.String),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
)
schemathesis.graphql.scalar(
    "Decimal",
    st.decimals(allow_nan=True, allow_infinity=True, places=2).map(lambda d: nodes.String(str(d)))
    | st.text(max_size=8).map(nodes.String),
)
schemathesis.graphql.scalar(
    "JSON", st.sampled_from([nodes.String("x"), nodes.Int(1), nodes.Boolean(True)])
)


def _operations() -> st.SearchStrategy[Any]:
    introspection = create_schema().execute_sync(get_introspection_query()).data
    schema = schemathesis.graphql.from_dict(introspection)
    operations = [result.ok() for result in schema.get_all_operations()]
    return st.sampled_from(operations).flatmap(lambda op: op.as_strategy())


@pytest.fixture
def loop_and_keys(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, Any, list[str]]]:
    loop = asyncio.new_event_loop()
    engine = create_engine(database_url)

    async def setup() -> list[str]:
        async with create_sessionmaker(engine)() as session:
            tenant = await create_tenant(session, "acme", deals=4)
        return list(tenant.keys.values())

    try:
        yield loop, engine, loop.run_until_complete(setup())
    finally:
        loop.run_until_complete(_truncate(engine))
        loop.run_until_complete(engine.dispose())
        loop.close()


def test_schemathesis_finds_no_server_error(
    loop_and_keys: tuple[asyncio.AbstractEventLoop, Any, list[str]],
) -> None:
    loop, engine, keys = loop_and_keys
    client_cm = api_client(engine, rate_limit_per_minute=0)
    client = loop.run_until_complete(client_cm.__aenter__())
    outcomes: dict[str, int] = {"data": 0, "errors": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_operations(), key=st.sampled_from(keys))
    def run(case: Any, key: str) -> None:
        response = loop.run_until_complete(
            client.http.post(
                "/graphql", json={"query": case.body}, headers={"Authorization": f"Bearer {key}"}
            )
        )
        assert response.status_code < 500, (case.body, response.text)
        body = response.json()
        messages = [e.get("message") for e in body.get("errors") or []]
        assert "Unexpected error." not in messages, (case.body, body)
        outcomes["data" if body.get("data") else "errors"] += 1

    try:
        run()
    finally:
        loop.run_until_complete(client_cm.__aexit__(None, None, None))
    assert outcomes["data"] >= EXAMPLES // 4, outcomes  # most cases were real, valid work
