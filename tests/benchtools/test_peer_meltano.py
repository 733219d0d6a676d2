"""The peer bench's helpers: the median round, and PostgreSQL's CPU read from /proc."""

from __future__ import annotations

import time

from bench.peer_meltano import _median_by, cluster_cpu_seconds
from tests.support.postgres import PostgresCluster


def test_the_median_round_is_picked_by_the_field() -> None:
    runs = [{"cpu": 3.0, "n": "a"}, {"cpu": 1.0, "n": "b"}, {"cpu": 2.0, "n": "c"}]
    assert _median_by(runs, "cpu")["n"] == "c"
    assert _median_by(runs[:2], "cpu")["n"] == "b"  # an even count: the lower middle


def test_the_cluster_cpu_counts_a_backend_that_has_ended(pg_cluster: PostgresCluster) -> None:
    before = cluster_cpu_seconds(pg_cluster)
    # One backend busy for a few tenths of a CPU-second, then gone (psql disconnects).
    pg_cluster.psql("SELECT count(*) FROM generate_series(1, 3000000)")
    time.sleep(0.2)  # the postmaster reaps it: its times join the postmaster's children's
    assert cluster_cpu_seconds(pg_cluster) - before >= 0.05
