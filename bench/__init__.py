"""Benchmarks (run as modules, e.g. ``python -m bench.kpi_compute``); not part of the installed package."""
