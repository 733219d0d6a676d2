"""The ways in: the FastAPI app, the GraphQL schema, webhooks, the dashboard and the CLI."""

from api.app import create_app

__all__ = ["create_app"]
