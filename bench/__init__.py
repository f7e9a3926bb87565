"""promo's benchmarks: ``python -m bench`` (all) or ``python -m bench.<name> --quick``.

Results and how to read them: docs/benchmarks.md.
"""
