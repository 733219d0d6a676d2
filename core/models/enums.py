"""Closed sets of values stored in the normalized model."""

from __future__ import annotations

from enum import StrEnum


class DealStatus(StrEnum):
    OPEN = "OPEN"
    WON = "WON"
    LOST = "LOST"


class StageKind(StrEnum):
    LEAD_IN = "LEAD_IN"
    QUALIFIED = "QUALIFIED"
    PROPOSAL = "PROPOSAL"
    NEGOTIATION = "NEGOTIATION"
    WON = "WON"
    LOST = "LOST"


class ActivityType(StrEnum):
    CALL = "CALL"
    EMAIL = "EMAIL"
    MEETING = "MEETING"
    NOTE = "NOTE"
    TASK = "TASK"


class DealType(StrEnum):
    NEW_BUSINESS = "NEW_BUSINESS"
    UPSELL = "UPSELL"
    CROSS_SELL = "CROSS_SELL"
    RENEWAL = "RENEWAL"
    UPGRADE = "UPGRADE"


class MeetingStatus(StrEnum):
    PROPOSED = "PROPOSED"
    ACCEPTED = "ACCEPTED"
    HELD = "HELD"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"
    NO_SHOW = "NO_SHOW"


class Response(StrEnum):
    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class SyncStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"


class SyncMode(StrEnum):
    FULL = "FULL"
    INCREMENTAL = "INCREMENTAL"
