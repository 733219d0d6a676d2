"""The GraphQL schema: per-domain query types merged at the root, limits in one place."""

from __future__ import annotations

import structlog
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.errors import should_mask_error
from api.limits import CheckedQueries, DocumentCache
from api.mutations.add_connection import AddConnectionMutation
from api.mutations.create_api_key import CreateApiKeyMutation
from api.mutations.create_workspace import CreateWorkspaceMutation
from api.mutations.define_kpi import DefineKpiMutation
from api.mutations.delete_connection import DeleteConnectionMutation
from api.mutations.delete_kpi import DeleteKpiMutation
from api.mutations.delete_workspace import DeleteWorkspaceMutation
from api.mutations.import_fx import ImportFxMutation
from api.mutations.import_spend import ImportSpendMutation
from api.mutations.import_surveys import ImportSurveysMutation
from api.mutations.import_visitors import ImportVisitorsMutation
from api.mutations.pause_connection import PauseConnectionMutation
from api.mutations.revoke_api_key import RevokeApiKeyMutation
from api.mutations.set_connection_lookback import SetConnectionLookbackMutation
from api.mutations.set_connection_schedule import SetConnectionScheduleMutation
from api.mutations.set_sync_webhook import SetSyncWebhookMutation
from api.mutations.set_target import SetTargetMutation
from api.mutations.trigger_sync import TriggerSyncMutation
from api.mutations.update_connection_mappings import UpdateConnectionMappingsMutation
from api.mutations.update_organization import UpdateOrganizationMutation
from api.mutations.update_workspace import UpdateWorkspaceMutation
from api.mutations.verify_credentials import VerifyCredentialsMutation
from api.observability import GraphQLLatency
from api.queries.connections import ConnectionsQuery
from api.queries.connectors import ConnectorsQuery
from api.queries.metrics import MetricsQuery
from api.queries.pipelines import PipelinesQuery
from api.queries.records import RecordsQuery
from api.queries.tenancy import TenancyQuery
from api.response_cache import AsyncAnswersSchema, CachedMetricsResponses, ResponseCache
from core.metrics import build_registry
from core.settings import Settings

#: Every domain adds its query type here.
QUERY_TYPES: tuple[type, ...] = (
    TenancyQuery,
    MetricsQuery,
    RecordsQuery,
    ConnectionsQuery,
    ConnectorsQuery,
    PipelinesQuery,
)
#: Every mutation file adds its type here (one mutation per file, STYLE.md).
MUTATION_TYPES: tuple[type, ...] = (
    UpdateOrganizationMutation,
    CreateWorkspaceMutation,
    UpdateWorkspaceMutation,
    DeleteWorkspaceMutation,
    CreateApiKeyMutation,
    RevokeApiKeyMutation,
    SetTargetMutation,
    PauseConnectionMutation,
    UpdateConnectionMappingsMutation,
    DeleteConnectionMutation,
    AddConnectionMutation,
    VerifyCredentialsMutation,
    TriggerSyncMutation,
    ImportSpendMutation,
    ImportVisitorsMutation,
    ImportSurveysMutation,
    ImportFxMutation,
    DefineKpiMutation,
    DeleteKpiMutation,
    SetConnectionScheduleMutation,
    SetConnectionLookbackMutation,
    SetSyncWebhookMutation,
)

_log = structlog.get_logger(__name__)


class _Schema(AsyncAnswersSchema):
    """Errors are logged by api.errors (internal ones, once, with an id); a refused
    request is logged as one line with the refusals' messages, never ``str(error)``,
    which quotes the whole document (inline credentials included, issue #20)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        refused = [e.message for e in errors if e.original_error is None]
        if refused:
            _log.info("graphql.refused", errors=refused[:5])


def create_schema(settings: Settings | None = None) -> AsyncAnswersSchema:
    """The one schema every tenant shares: nothing tenant-specific in it (user-defined KPIs
    are answered by ``kpi(name:)``, never as fields: api.queries.metrics)."""
    settings = settings or Settings()
    query_types = QUERY_TYPES
    # The depth and alias rules are built once, not per request (each limiter makes a new
    # rule class when constructed), so a document's validation can be cached by its text:
    # CheckedQueries parses and validates each document once and checks the variables (cost,
    # NUL) per request.
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    documents = DocumentCache()
    # Whole answers of metrics-only queries (api.response_cache): built-in KPIs only.
    responses = ResponseCache(frozenset(build_registry().kpis))
    schema = _Schema(
        query=merge_types("Query", query_types),
        mutation=merge_types("Mutation", MUTATION_TYPES),
        extensions=[
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: CheckedQueries(documents, max_cost=settings.graphql_max_cost),
            lambda: CachedMetricsResponses(responses),
            lambda: MaskErrors(should_mask_error=should_mask_error),
            GraphQLLatency,
        ],
    )
    schema.responses = responses
    return schema


def schema_sdl() -> str:
    """The SDL as ``crmkpi schema`` prints it and ``schema.graphql`` stores it."""
    return str(create_schema()) + "\n"
