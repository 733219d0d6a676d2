"""Neutral, seeded test businesses that every CRM simulator renders in its own API shapes,
and the fault injection (``faults.py``) every simulator wraps itself in.

All three simulators serve the same business facts for the same seed, so the same KPI
computed from HubSpot, Pipedrive or Salesforce data must give the same answer.
"""
