"""The code passes the project's linter and formatter (ruff, configured in pyproject.toml)."""

import subprocess
import sys

from pipeline.config import ROOT


def test_ruff_finds_nothing():
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "pipeline", "viewer", "bench", "tests"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
