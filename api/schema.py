"""The GraphQL schema: per-domain query types merged at the root, limits in one place."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.errors import should_mask_error
from api.mutations.import_spend import ImportSpendMutation
from api.mutations.import_surveys import ImportSurveysMutation
from api.mutations.import_visitors import ImportVisitorsMutation
from api.mutations.set_target import SetTargetMutation
from api.observability import GraphQLLatency
from api.queries.metrics import MetricsQuery
from api.queries.tenancy import TenancyQuery
from core.settings import Settings

#: Every domain adds its query type here.
QUERY_TYPES: tuple[type, ...] = (TenancyQuery, MetricsQuery)
#: Every mutation (one per file under api/mutations/) is added here.
MUTATION_TYPES: tuple[type, ...] = (
    ImportSpendMutation,
    ImportVisitorsMutation,
    ImportSurveysMutation,
    SetTargetMutation,
)


def create_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    query = merge_types("Query", QUERY_TYPES)
    # The depth and alias rules are built once, not per request: each limiter makes a new
    # rule class when constructed, and new classes defeat the validation cache (validating
    # the dashboard document was a third of a cached dashboard request's time).
    rules = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=query,
        mutation=merge_types("Mutation", MUTATION_TYPES),
        extensions=[
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=256),
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: MaskErrors(should_mask_error=should_mask_error),
            GraphQLLatency,
        ],
    )


def schema_sdl() -> str:
    """The SDL as ``crmkpi schema`` prints it and ``schema.graphql`` stores it."""
    return str(create_schema()) + "\n"
