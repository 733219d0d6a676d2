"""The Hubspot connector (a crmkpi.connectors plugin)."""
