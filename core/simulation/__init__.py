"""Neutral, seeded test businesses that every CRM simulator renders in its own API shapes.

All three simulators serve the same business facts for the same seed, so the same KPI
computed from HubSpot, Pipedrive or Salesforce data must give the same answer.
"""
