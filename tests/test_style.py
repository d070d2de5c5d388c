"""The code passes the linter and formatter (ruff, configured in pyproject.toml), and its own imports resolve."""

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


def test_every_import_of_the_projects_own_names_resolves():
    """Also the imports inside functions, which run only on some paths (a benchmark, a model kind)."""
    import ast
    import importlib

    missing = []
    for path in sorted(
        p for package in ("pipeline", "viewer", "bench", "tests") for p in (ROOT / package).rglob("*.py")
    ):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] in OWN:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if (
                        not hasattr(module, alias.name)
                        and importlib.util.find_spec(f"{node.module}.{alias.name}") is None
                    ):
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in OWN and importlib.util.find_spec(alias.name) is None:
                        missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name}")
    assert not missing, missing


OWN = ("pipeline", "viewer", "bench", "tests")
