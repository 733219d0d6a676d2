"""Creating connections and editing their field mappings (shared by the CLI and GraphQL).

Credentials are checked against the connector's declared fields, then stored encrypted;
nothing here returns or formats a credential value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from core import validation
from core.errors import NotFoundError, ValidationError
from core.models import Connection, Workspace
from core.secrets import Vault
from core.sync.connector import MAX_LOOKBACK_MINUTES, Connector
from core.sync.errors import UnknownConnector
from core.sync.mappings import FieldMappings
from core.sync.schedules import parse_schedule


def connector_class(classes: Mapping[str, type[Connector]], name: str) -> type[Connector]:
    try:
        return classes[name]
    except KeyError:
        raise UnknownConnector(
            f"unknown connector {name!r}; installed: {', '.join(classes) or 'none'}"
        ) from None


def check_credentials(cls: type[Connector], credentials: Mapping[str, str]) -> None:
    """Every required field present, no unknown field (a typo would be silently ignored)."""
    known = {f.name for f in cls.credential_fields}
    unknown = sorted(set(credentials) - known)
    if unknown:
        raise ValidationError(
            f"{cls.name} has no credential field {', '.join(unknown)}; "
            f"its fields are: {', '.join(sorted(known)) or 'none'}"
        )
    missing = [f.name for f in cls.credential_fields if f.required and not credentials.get(f.name)]
    if missing:
        raise ValidationError(f"{cls.name} needs the credential field(s) {', '.join(missing)}")


def check_options(cls: type[Connector], options: Mapping[str, str]) -> dict[str, str]:
    """The options as strings; ValidationError for a name the connector does not declare."""
    known = {f.name for f in cls.option_fields}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValidationError(
            f"{cls.name} has no option {', '.join(unknown)}; "
            f"its options are: {', '.join(sorted(known)) or 'none'}"
        )
    return {str(k): str(v) for k, v in options.items()}


def resolve_options(cls: type[Connector], stored: Mapping[str, Any] | None) -> dict[str, str]:
    """A connection's options for a run: the declared defaults, then what it stored."""
    options = {f.name: f.default for f in cls.option_fields if f.default is not None}
    options.update({str(k): str(v) for k, v in (stored or {}).items() if v is not None})
    return options


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings (``--option``) as a dict; ValidationError names a bad one."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"option {pair!r}: expected KEY=VALUE")
        options[key.strip()] = value
    return options


async def create_connection(
    session: AsyncSession,
    vault: Vault,
    classes: Mapping[str, type[Connector]],
    *,
    workspace_id: str,
    connector: str,
    credentials: Mapping[str, str],
    base_url: str | None = None,
    name: str = "",
    lookback_minutes: int | None = None,
    options: Mapping[str, str] | None = None,
    schedule: str | None = None,
) -> Connection:
    """The one use case behind ``crmkpi connection add`` and ``addConnection``.

    ``schedule`` is an interval or a cron expression (None: manual syncs only), validated
    and stored here so neither front end sets it after the fact.
    """
    cls = connector_class(classes, connector)
    check_lookback(lookback_minutes)
    schedule_text = parse_schedule(schedule).text if schedule else None
    check_credentials(cls, credentials)
    checked_options = check_options(cls, options or {})
    if await session.get(Workspace, workspace_id) is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    connection = Connection(
        workspace_id=workspace_id,
        connector=cls.name,
        name=validation.name(name, "connection name") if name else cls.title,
        base_url=_base_url(base_url),
        credentials_encrypted=vault.encrypt(credentials),
        mappings=FieldMappings().to_dict(),
        lookback_minutes=lookback_minutes,
        options=checked_options,
        schedule=schedule_text,
    )
    session.add(connection)
    await session.flush()
    return connection


def _base_url(base_url: str | None) -> str | None:
    if base_url is None:
        return None
    if not base_url.startswith(("http://", "https://")):
        raise ValidationError(f"base URL {base_url!r} must start with http:// or https://")
    return base_url.rstrip("/") or None


async def set_endpoint(
    session: AsyncSession,
    vault: Vault,
    classes: Mapping[str, type[Connector]],
    connection_id: str,
    *,
    base_url: str | None,
    credentials: Mapping[str, str],
) -> Connection:
    """Point a connection at another API base URL with new credentials, checked as at
    creation (``crmkpi demo`` does it each run: its simulators listen on new ports, and
    the tokens the last ones issued are void)."""
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(f"no connection {connection_id}")
    check_credentials(connector_class(classes, connection.connector), credentials)
    connection.base_url = _base_url(base_url)
    connection.credentials_encrypted = vault.encrypt(credentials)
    await session.flush()
    return connection


def check_lookback(minutes: int | None) -> None:
    """A look-back is whole minutes from 0 (none) to a week; None keeps the default."""
    if minutes is not None and not 0 <= minutes <= MAX_LOOKBACK_MINUTES:
        raise ValidationError(
            f"look-back must be between 0 and {MAX_LOOKBACK_MINUTES} minutes, not {minutes}"
        )


#: More entries than this in one change is a mistake (mappings are small documents).
MAX_ENTRIES = 2000


def check_mapping_changes(value: Any) -> dict[str, dict[str, str | None]]:
    """``{section: {key: value or null}}``, as ``crmkpi connection mappings`` and
    ``updateConnectionMappings`` both take it (JSON), checked before the mapping code."""
    if not isinstance(value, dict):
        raise ValidationError("changes must be a JSON object of sections")
    entries = 0
    for section, items in value.items():
        if not isinstance(items, dict):
            raise ValidationError(f"changes.{section} must be an object of key: value")
        for key, item in items.items():
            entries += 1
            if item is not None and not isinstance(item, str):
                raise ValidationError(f"changes.{section}.{key} must be a string or null")
    if entries > MAX_ENTRIES:
        raise ValidationError(f"changes has more than {MAX_ENTRIES} entries")
    return cast(dict[str, dict[str, str | None]], value)


async def update_mappings(session: AsyncSession, connection_id: str, changes: Any) -> FieldMappings:
    """Apply ``changes`` (per section; a None value removes an entry) and store the result."""
    checked = check_mapping_changes(changes)
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(f"no connection {connection_id}")
    mappings = FieldMappings.from_dict(connection.mappings).merged(checked)
    connection.mappings = mappings.to_dict()
    await session.flush()
    return mappings
