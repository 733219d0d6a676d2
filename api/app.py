"""The FastAPI application: GraphQL at /graphql (GraphiQL in a browser), health probes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pluggy
import structlog
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.auth import Authenticator
from api.background import SyncLauncher
from api.bodylimit import BodyLimit
from api.context import Context
from api.dashboard import router as dashboard_router
from api.errors import InvalidApiKey
from api.events import router as events_router
from api.observability import metrics_endpoint
from api.persisted_queries import PersistedQueryRouter
from api.ratelimit import (
    GraphQLGuard,
    KnownKeys,
    Limiter,
    RateLimiter,
    SharedRateLimiter,
    bearer_token,
    key_hash,
)
from api.request_ids import RequestIds
from api.response_cache import KeptAnswers
from api.schema import create_schema
from api.session import RequestSessions
from api.webhooks import router as webhooks_router
from core.db import create_engine, create_sessionmaker
from core.errors import ConfigurationError
from core.plugins import create_plugin_manager
from core.prometheus import SyncMetricsPlugin
from core.secrets import Vault
from core.settings import Settings
from core.sync.scheduler import EmbeddedScheduler
from core.tenancy import tenant_session

_log = structlog.get_logger(__name__)


@dataclass
class AppState:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    plugins: pluggy.PluginManager
    settings: Settings
    syncs: SyncLauncher
    auth: Authenticator
    #: Requests' sessions and readers (their own pool on PostgreSQL: api.session).
    requests: RequestSessions


async def _invalid_key(_request: Request, exc: Exception) -> JSONResponse:
    """401 for a request that names a key which does not authenticate: it must not be
    answered as an anonymous caller (introspection, ``__typename``)."""
    body = {
        "data": None,
        "errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _start_scheduler(
    settings: Settings, engine: AsyncEngine, pm: pluggy.PluginManager
) -> EmbeddedScheduler | None:
    """The in-process scheduler of the single-process product (SQLite by default)."""
    if not settings.embedded_scheduler:
        return None
    try:
        vault = Vault.from_settings(settings)
    except ConfigurationError as exc:
        _log.warning("scheduler.disabled", reason=str(exc))
        return None
    scheduler = EmbeddedScheduler(
        engine,
        pm,
        vault,
        poll_seconds=settings.scheduler_poll_seconds,
        concurrency=settings.sync_concurrency,
    )
    scheduler.start()
    return scheduler


def freeze_startup_heap() -> None:
    """Leave what startup built (schema, KPI registry, models, libraries) out of every
    later garbage collection; call once the app is built, before serving.

    A full collection walks every tracked object, and a served app holds some hundreds of
    thousands that live as long as the process: under load one came every few seconds and
    stopped every request for 100-400 ms, collecting nothing, which was the whole p99 of 50
    dashboard clients (issue #19). Done by the lifespan of ``create_app(freeze_heap=True)``,
    which every server passes; not by default, because tests build many apps in one
    process, and what is frozen is never collected."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    plugins: pluggy.PluginManager | None = None,
    freeze_heap: bool = False,
    warm_pool: bool = False,
) -> FastAPI:
    """Build the app; the engine and plugins are created in the lifespan unless given.

    ``freeze_heap``: a served app (``crmkpi serve``, ``crmkpi demo``, the benches) leaves
    what its start-up built out of later garbage collections (:func:`freeze_startup_heap`),
    once the lifespan has built it all (engine, pools, scheduler), just before serving.

    ``warm_pool``: the lifespan opens the connections of a first dashboard request before
    serving (api.session.RequestSessions.warm), so that its first request does not pay them.

    User-defined KPIs are answered by ``kpi(name:)`` for their own organization only; they
    are not fields of the shared schema (issue #20).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        eng = engine or create_engine(settings.database_url)
        pm = plugins or create_plugin_manager()
        if not any(isinstance(p, SyncMetricsPlugin) for p in pm.get_plugins()):
            pm.register(SyncMetricsPlugin())
        sessionmaker = create_sessionmaker(eng)
        requests = RequestSessions(eng, settings.statement_timeout_seconds)
        app.state.crmkpi = AppState(
            engine=eng,
            sessionmaker=sessionmaker,
            plugins=pm,
            settings=settings,
            syncs=SyncLauncher(eng, pm, settings),
            auth=Authenticator(
                eng, sessionmaker, settings.api_key_cache_seconds, also=(requests.engine,)
            ),
            requests=requests,
        )
        await app.state.crmkpi.auth.ready()
        scheduler = _start_scheduler(settings, eng, pm)
        if warm_pool:
            await app.state.crmkpi.requests.warm()
        if freeze_heap:
            freeze_startup_heap()
        try:
            yield
        finally:
            await app.state.crmkpi.syncs.close()
            await app.state.crmkpi.auth.close()
            await app.state.crmkpi.requests.close()
            if scheduler is not None:
                await scheduler.stop()
            if own_engine:
                await eng.dispose()

    app = FastAPI(title="crmkpi", lifespan=lifespan, docs_url=None, redoc_url=None)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        )

    limiter: Limiter | None = None
    if settings.rate_limit_per_minute > 0:
        per_minute, burst = settings.rate_limit_per_minute, settings.rate_limit_burst
        limiter = (
            RateLimiter(per_minute=per_minute, burst=burst)
            if settings.is_sqlite
            else SharedRateLimiter(
                per_minute=per_minute, burst=burst, engine=lambda: app.state.crmkpi.engine
            )
        )
    known_keys = KnownKeys()
    app.add_middleware(GraphQLGuard, limiter=limiter, known=known_keys)
    app.add_middleware(RequestIds)  # outside the guard: refusals are logged too

    async def get_context(request: Request) -> AsyncIterator[Context]:
        state: AppState = request.app.state.crmkpi
        header = request.headers.get("authorization", "")
        token = bearer_token(header)
        viewer = await state.auth.viewer(token) if token else None
        if header.strip() and viewer is None:
            raise InvalidApiKey(
                "missing or invalid API key: send 'Authorization: Bearer <api key>' with a "
                "key that exists and is not revoked"
            )
        if token:
            known_keys.add(key_hash(token))
        async with tenant_session(state.requests.sessionmaker, viewer) as session:
            yield Context(
                session=state.requests.serial(session),
                sessionmaker=state.sessionmaker,
                settings=state.settings,
                plugins=state.plugins,
                viewer=viewer,
                syncs=state.syncs,
            )

    schema = create_schema(settings)
    answers = (
        KeptAnswers(schema.responses, lambda: app.state.crmkpi.engine)
        if schema.responses is not None
        else None
    )
    graphql = PersistedQueryRouter(  # + automatic persisted queries, error codes
        schema,
        context_getter=get_context,
        graphql_ide="graphiql",
        answers=answers,  # kept answers, sent before any GraphQL work
    )
    app.include_router(graphql, prefix="/graphql")
    app.include_router(dashboard_router)  # the page at /dashboard, a client of /graphql

    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(webhooks_router)
    app.include_router(events_router)  # syncFinished server-sent events

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        state: AppState = request.app.state.crmkpi
        try:
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the probe reports any failure as not ready
            _log.warning("readyz.database_unavailable", error=type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "up"})

    # Outermost: no middleware or route reads a body before its size is checked.
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    app.add_exception_handler(InvalidApiKey, _invalid_key)
    return app
