"""The ways in: the FastAPI app, the GraphQL schema, webhooks, the dashboard and the CLI."""
