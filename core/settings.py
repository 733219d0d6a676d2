"""The one settings class, read from ``CRMKPI_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("var")


class Settings(BaseSettings):
    """Process-wide configuration shared by the API, the CLI and the workers."""

    model_config = SettingsConfigDict(env_prefix="CRMKPI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'crmkpi.db'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys; the first encrypts, all decrypt (rotation).",
    )
    secret_keys_file: Path = Field(
        default=DEFAULT_DATA_DIR / "secret.key",
        description="Where keys are read from when CRMKPI_SECRET_KEYS is unset.",
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    connection_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts and networks (CIDR) a base URL given over the API may reach even "
        "though private, loopback or link-local (core.egress); the CLI is not limited.",
    )
    scheduler: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="In-process scheduler in `crmkpi serve`; auto = on with SQLite, off with "
        "PostgreSQL (where `crmkpi worker` processes run the syncs).",
    )
    scheduler_poll_seconds: float = Field(default=30.0, gt=0)
    sync_concurrency: int = Field(default=2, ge=1, le=64)
    worker_stalled_seconds: float = Field(
        default=30.0, gt=0, description="A worker silent this long is presumed dead."
    )
    cache: Literal["memory", "database"] = Field(
        default="memory",
        description="Where metric results are cached: in each API process, or in the "
        "database so several API processes share hits (core.metrics.shared_cache).",
    )
    cache_ttl_seconds: int = Field(
        default=600, ge=1, description="How long an unused shared cache entry stays."
    )
    graphql_max_depth: int = 12
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 4000
    max_page_size: int = 500
    graphql_max_cost: int = Field(
        default=20_000, ge=1, description="Fields a query may ask for, times its page sizes."
    )
    metrics_max_points: int = Field(
        default=3_000,
        ge=1,
        description="Work one request's KPIs may ask for: series buckets x KPI fields x "
        "breakdown groups (core.metrics.cost).",
    )
    statement_timeout_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Longest an API request's SQL statement may run (PostgreSQL "
        "statement_timeout, SQLite progress handler); then the request fails with a clear error.",
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long an API process keeps an authenticated key's viewer (api.auth); "
        "revocations made through the product clear it at once, others count from here.",
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests per minute per API key; 0 disables the limit."
    )
    rate_limit_burst: int = Field(default=100, ge=1, description="Requests allowed at once.")
    max_request_bytes: int = Field(default=1_000_000, ge=1024, description="Largest request.")

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "CRMKPI_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_scheduler(self) -> bool:
        return self.scheduler == "on" or (self.scheduler == "auto" and self.is_sqlite)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process, read once."""
    return Settings()
