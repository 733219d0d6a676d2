"""Built-in CRM connectors; each sub-package is a ``crmkpi.connectors`` plugin."""
