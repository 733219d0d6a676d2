"""The Salesforce connector (a crmkpi.connectors plugin)."""
