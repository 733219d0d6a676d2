"""Benchmarks: `make bench` runs them all and rewrites bench/RESULTS.md and results.json."""
