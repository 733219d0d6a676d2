"""Benchmarks: `make bench` runs them all and rewrites bench/RESULTS.md and results.json."""

import os

#: The benchmarks sync from CRM simulators on loopback, which the egress policy
#: (core.egress) refuses unless listed: listed here, explicitly, for every bench module and
#: the processes they start (as tests/conftest.py does for the tests).
os.environ.setdefault("CRMKPI_CONNECTION_ALLOWED_HOSTS", '["127.0.0.1", "::1", "localhost"]')
