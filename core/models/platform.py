"""Tables of the multi-process platform: sync-end webhooks, the shared metric cache and the
shared API rate-limit buckets (core.notify, core.metrics.cache, api.ratelimit)."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from datetime import datetime

from sqlalchemy import Float, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, utcnow


class SyncWebhook(Base):
    """Where a workspace wants to hear that a sync ended; the HMAC secret is encrypted."""

    __tablename__ = "sync_webhooks"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(500))
    #: Fernet token (core.secrets.Vault) of {"secret": ...}; the secret is shown once.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetricCacheEntry(Base):
    """One cached KPI result, shared by every API process (``CRMKPI_CACHE=database``).

    ``key`` is a hash of (scope, data versions, request, minute), so a new data version
    simply misses; ``expires_at`` bounds how long unused entries stay.
    """

    __tablename__ = "metric_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateLimitBucket(Base):
    """The rate limit of one API key (by hash), shared by every API process on PostgreSQL.

    Stored as GCRA's "theoretical arrival time" (api.ratelimit.SharedRateLimiter): one
    number, updated by one atomic statement per request.
    """

    __tablename__ = "rate_limit_buckets"

    identity: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Seconds since the epoch (the database clock).
    tat: Mapped[float] = mapped_column(Float)
