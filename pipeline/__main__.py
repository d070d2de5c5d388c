"""`python -m pipeline STEP [ARGS]`: one step of the pipeline (make runs them; `python -m pipeline` lists them)."""

from pipeline import cli

cli.start("pipeline")
