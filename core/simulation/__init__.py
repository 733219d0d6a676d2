"""Building blocks shared by the CRM simulators (fault injection)."""
