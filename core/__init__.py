"""crmkpi's domain: the normalized model, the sync engine and the metrics core.

Nothing here imports HTTP, GraphQL or any CRM; importing this package has no side effects.
"""
