"""Connections to CRM accounts and the bookkeeping of their syncs."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigIntPK, new_id, utcnow


class Connection(Base):
    """A configured CRM account inside a workspace."""

    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("conn"))
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    connector: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    base_url: Mapped[str | None] = mapped_column(String(500))
    #: Fernet token of the JSON credentials; never returned or logged.
    credentials_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Field mappings: stage kinds, lifecycle values, custom fields (see core.sync.mappings).
    mappings: Mapped[dict[str, Any] | None]
    #: "15m", "1h" or a cron expression; None = manual only.
    schedule: Mapped[str | None] = mapped_column(String(100))
    #: Minutes incremental reads go back before the stored cursor, for changes the CRM
    #: makes visible late (search indexes, clock skew); None = the engine's default.
    lookback_minutes: Mapped[int | None] = mapped_column(Integer)
    #: When the full reconciliation (deletions) runs: "1d", a cron expression or "off";
    #: None = nightly (core.sync.scheduler.FULL_EVERY).
    full_sync_schedule: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    last_sync_started_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    last_full_sync_at: Mapped[datetime | None]
    #: Lease that makes syncs exclusive on databases without advisory locks (SQLite).
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: What the account offers (core.sync.capabilities.Capabilities.to_json), from the
    #: last discovery and what streams learnt since.
    capabilities: Mapped[list[Any] | None]
    capabilities_checked_at: Mapped[datetime | None]
    #: The connector's non-secret option fields (Connector.option_fields), unencrypted.
    options: Mapped[dict[str, Any] | None]


class SyncRun(Base):
    """One run of a connection's sync: status, per-stream counts, timings."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(16))  # FULL | INCREMENTAL
    status: Mapped[str] = mapped_column(String(16))  # RUNNING | SUCCEEDED | PARTIAL | FAILED
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: {stream: {fetched, inserted, updated, deleted, quarantined, seconds}}
    stream_stats: Mapped[dict[str, Any] | None]
    requests: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """The cursor of one stream of one connection, committed with the batch it covers."""

    __tablename__ = "sync_state"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    cursor: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordError(Base):
    """A CRM record that could not be mapped, quarantined with its reason and raw data."""

    __tablename__ = "record_errors"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(String(40))
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    sync_run_id: Mapped[int | None]
    stream: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_sync_runs_connection_started", SyncRun.connection_id, SyncRun.started_at)
Index("ix_record_errors_connection_created", RecordError.connection_id, RecordError.created_at)
