"""`python -m bench STEP [ARGS]`: the benchmarks, `measure` (make bench) and `scale` (make bench-scale)."""

from pipeline import cli

cli.start("bench")
