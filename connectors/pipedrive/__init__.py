"""The Pipedrive connector (a crmkpi.connectors plugin)."""
