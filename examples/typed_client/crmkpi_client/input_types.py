from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Dimension, PeriodPreset, RecordTimeField


class AddConnectionInput(BaseModel):
    """A CRM account to connect."""

    workspace_id: str = Field(alias="workspaceId")
    connector: str
    "hubspot, pipedrive, salesforce, ..."
    credentials: list["CredentialInput"]
    "Stored encrypted."
    base_url: Optional[str] = Field(alias="baseUrl", default=None)
    "API base URL (sandbox, EU data centre, simulator)."
    name: str = ""
    "A label; default: the CRM's name."
    schedule: Optional[str] = None
    "'15m', '1h' or a cron expression; null: manual syncs only."
    lookback_minutes: Optional[int] = Field(alias="lookbackMinutes", default=None)
    "Minutes incremental syncs re-read before their last cursor, 0 to 10080 (null: the default, 10); setConnectionLookback changes it later."
    options: Optional[list["ConnectionOptionInput"]] = None
    "Non-secret connector options (stored unencrypted); see the connector's option fields."


class BreakdownInput(BaseModel):
    """Group by one dimension (or a custom field); top N plus 'other'."""

    by: Optional[Dimension] = None
    custom: Optional[str] = None
    top: int = 10


class ConnectionOptionInput(BaseModel):
    """One non-secret connector option (the connector's option fields)."""

    name: str
    value: str


class CreateApiKeyInput(BaseModel):
    """A new API key: its role and, optionally, its workspaces."""

    name: str = ""
    "A label to recognise it by."
    role: str = "viewer"
    "admin, editor or viewer."
    workspace_ids: Optional[list[str]] = Field(alias="workspaceIds", default=None)
    "Limit the key to these workspaces; null: all of them."


class CreateWorkspaceInput(BaseModel):
    """A new workspace and its calendar."""

    name: str
    "1 to 200 characters."
    timezone: str = "UTC"
    "IANA timezone."
    currency: str = "USD"
    "ISO 4217 reporting currency."
    fiscal_year_start_month: int = Field(alias="fiscalYearStartMonth", default=1)
    "1..12."
    week_start: int = Field(alias="weekStart", default=1)
    "ISO weekday 1 (Monday)..7."
    inactivity_days: int = Field(alias="inactivityDays", default=365)
    "Days after a win a customer stays active."
    no_contact_days: int = Field(alias="noContactDays", default=90)
    "Days without activity before a customer counts as inactive."


class CredentialInput(BaseModel):
    """One credential field (see the connector's credential fields)."""

    name: str
    value: str


class CustomFilterInput(BaseModel):
    """A custom dimension declared through field mappings."""

    field: str
    values: list[str]


class DefineKpiInput(BaseModel):
    """Where a KPI is defined (exactly one of the two) and its declaration."""

    definition: Any
    "The declaration (docs/metrics.md, 'User-defined KPIs'): name, description, unit, and a measure or a numerator and a denominator."
    workspace_id: Optional[str] = Field(alias="workspaceId", default=None)
    "A KPI of this workspace only."
    organization_id: Optional[str] = Field(alias="organizationId", default=None)
    "A KPI of every workspace of the organization."


class DeleteConnectionInput(BaseModel):
    """The connection to delete, with all its data."""

    id: str


class DeleteWorkspaceInput(BaseModel):
    """The workspace to delete, with its connections and data."""

    id: str


class ImportFxInput(BaseModel):
    """A CSV file of FX rates (day,currency,rate[,base]) for a workspace."""

    workspace_id: str = Field(alias="workspaceId")
    csv: str
    "Each row says 1 `currency` = `rate` `base` on `day`; a header line is optional. Rates replace those of the same day, currency and base."
    base: Optional[str] = None
    "Base currency of rows without one; null: the workspace's currency."


class ImportInput(BaseModel):
    """A CSV file's text (header line first), for one workspace."""

    workspace_id: str = Field(alias="workspaceId")
    csv: str
    "The file's content, UTF-8; see docs/imports.md."


class PauseConnectionInput(BaseModel):
    """The connection, and whether it is paused."""

    id: str
    paused: bool = True
    "false resumes it."


class PeriodInput(BaseModel):
    """A preset, or start and end local dates (end exclusive)."""

    preset: Optional[PeriodPreset] = None
    start: Optional[Any] = None
    end: Optional[Any] = None
    "Exclusive."
    timezone: Optional[str] = None
    "IANA timezone; default the workspace's."
    fiscal_year_start_month: Optional[int] = Field(
        alias="fiscalYearStartMonth", default=None
    )
    week_start: Optional[int] = Field(alias="weekStart", default=None)
    "1 = Monday ... 7."


class RecordPeriodInput(BaseModel):
    """Local dates [start, end): the end is exclusive."""

    start: Any
    "First day (ISO date)."
    end: Any
    "Day after the last (ISO date)."
    timezone: Optional[str] = None
    "IANA timezone; default: each workspace's own."
    field: RecordTimeField = RecordTimeField.CREATED
    "Which timestamp must fall in the period."


class RecordSegmentInput(BaseModel):
    """Optional filters on the records listed, like the metrics' segment: dimensions combine with AND, values within one dimension with OR. Ids are record ids."""

    connections: Optional[list[str]] = None
    "CRM connections."
    owners: Optional[list[str]] = None
    "Users."
    teams: Optional[list[str]] = None
    "Teams."
    pipelines: Optional[list[str]] = None
    "Pipelines."
    stages: Optional[list[str]] = None
    "Current stages."
    sources: Optional[list[str]] = None
    "Lead sources or channels."
    countries: Optional[list[str]] = None
    "Account countries."
    regions: Optional[list[str]] = None
    "Account regions."
    industries: Optional[list[str]] = None
    "Account industries."
    deal_types: Optional[list[str]] = Field(alias="dealTypes", default=None)
    "NEW_BUSINESS, UPSELL, CROSS_SELL, RENEWAL, UPGRADE."
    statuses: Optional[list[str]] = None
    "Deal status (OPEN, WON, LOST) or lead status."
    activity_types: Optional[list[str]] = Field(alias="activityTypes", default=None)
    "CALL, EMAIL, MEETING, NOTE, TASK."


class RevokeApiKeyInput(BaseModel):
    """The key to revoke."""

    id: str


class SegmentInput(BaseModel):
    """Filters combine with AND, values of one filter with OR. Ids are the API's ids (users, teams, pipelines, stages, connections, workspaces); others are values."""

    owners: Optional[list[str]] = None
    teams: Optional[list[str]] = None
    pipelines: Optional[list[str]] = None
    stages: Optional[list[str]] = None
    sources: Optional[list[str]] = None
    countries: Optional[list[str]] = None
    regions: Optional[list[str]] = None
    industries: Optional[list[str]] = None
    deal_types: Optional[list[str]] = Field(alias="dealTypes", default=None)
    activity_types: Optional[list[str]] = Field(alias="activityTypes", default=None)
    connections: Optional[list[str]] = None
    workspaces: Optional[list[str]] = None
    custom: Optional[list["CustomFilterInput"]] = None


class SetConnectionLookbackInput(BaseModel):
    """The connection and its look-back."""

    id: str
    minutes: Optional[int] = None
    "Whole minutes from 0 (none) to 10080 (a week); null restores the default (10)."


class SetConnectionScheduleInput(BaseModel):
    """Exactly one of every, cron or off sets the schedule; fullSync alone may change the reconciliation only."""

    id: str
    every: Optional[str] = None
    "An interval: 15m, 1h, 1d."
    cron: Optional[str] = None
    "A cron expression (UTC)."
    off: bool = False
    "true: manual syncs only."
    full_sync: Optional[str] = Field(alias="fullSync", default=None)
    "Full reconciliation: an interval, a cron expression, 'off' or 'default' (nightly); null keeps it."


class SetSyncWebhookInput(BaseModel):
    """The workspace, and its webhook URL (null removes it)."""

    workspace_id: str = Field(alias="workspaceId")
    url: Optional[str] = None
    "An absolute http(s) URL, or null."


class SetTargetInput(BaseModel):
    """A target: setting the same KPI, period and segment replaces it."""

    workspace_id: str = Field(alias="workspaceId")
    kpi: str
    "The KPI's field name, such as salesRevenue."
    period_start: Any = Field(alias="periodStart")
    "First day of the period."
    period_end: Any = Field(alias="periodEnd")
    "Day after its last day (exclusive)."
    value: Any
    "The value to reach."
    segment: Optional["SegmentInput"] = None
    "Only for this segment (default: the whole workspace)."


class TriggerSyncInput(BaseModel):
    """The connection to sync."""

    connection_id: str = Field(alias="connectionId")
    full: bool = False
    "Read everything, not only what changed."


class UpdateConnectionMappingsInput(BaseModel):
    """The connection and the mapping entries to change."""

    id: str
    changes: Any
    "Per section (stage_kinds, lifecycle, custom_dimensions, deal_attributes), the entries to set; a null value removes an entry. Other entries are kept."


class UpdateOrganizationInput(BaseModel):
    """The organization's new settings."""

    name: str
    "1 to 200 characters."


class UpdateWorkspaceInput(BaseModel):
    """The settings to change; fields left out keep their value."""

    id: str
    name: Optional[str] = None
    timezone: Optional[str] = None
    "IANA timezone."
    currency: Optional[str] = None
    "ISO 4217 code."
    fiscal_year_start_month: Optional[int] = Field(
        alias="fiscalYearStartMonth", default=None
    )
    "1..12."
    week_start: Optional[int] = Field(alias="weekStart", default=None)
    "ISO weekday 1..7."
    inactivity_days: Optional[int] = Field(alias="inactivityDays", default=None)
    "1..3650."
    no_contact_days: Optional[int] = Field(alias="noContactDays", default=None)
    "1..3650."


class VerifyCredentialsInput(BaseModel):
    """A connection id, or a connector with credentials to try."""

    connection_id: Optional[str] = Field(alias="connectionId", default=None)
    connector: Optional[str] = None
    credentials: Optional[list["CredentialInput"]] = None
    base_url: Optional[str] = Field(alias="baseUrl", default=None)


AddConnectionInput.model_rebuild()
SegmentInput.model_rebuild()
SetTargetInput.model_rebuild()
VerifyCredentialsInput.model_rebuild()
