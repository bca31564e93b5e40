"""Benchmarks of the backfill: ``make bench`` (``python -m bench``) writes ``bench/results.md``."""
