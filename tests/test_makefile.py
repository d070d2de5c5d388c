"""The Makefile follows the code: every rule lists each module its step imports, so a changed module reruns the
steps that use it."""

from __future__ import annotations

import ast
import re

import pytest

from pipeline.config import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
# Steps make runs every time (settings) or only on request (download, bench): they have no stale inputs to track.
UNTRACKED = {"settings", "download", "bench", "scale"}


def rules() -> dict[str, str]:
    """Each pipeline step run by a rule -> the rule's prerequisites, with the variables they name expanded."""
    variables = dict(re.findall(r"^(\w+) := (.*)$", MAKEFILE, flags=re.M))
    found = {}
    for rule in re.split(r"\n(?=\S)", MAKEFILE.replace("\\\n", " ")):
        head, _, recipe = rule.partition("\n")
        step = re.search(r"\$\(STEP\)\.(\w+)", recipe)
        if step and ":" in head and step.group(1) not in UNTRACKED:
            found[step.group(1)] = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), head)
    return found


def imports(module: str, seen: set[str] | None = None) -> set[str]:
    """The pipeline modules `module` uses, directly or through others."""
    seen = seen if seen is not None else set()
    tree = ast.parse((ROOT / "pipeline" / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module == "pipeline":
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline."):
            names = [node.module.split(".")[1]]
        for name in names:
            if name not in seen and (ROOT / "pipeline" / f"{name}.py").exists():
                seen.add(name)
                imports(name, seen)
    return seen


def test_every_step_has_a_rule():
    steps = {path.stem for path in (ROOT / "pipeline").glob("*.py")} & {
        match
        for match in re.findall(
            r"cli\.run\(\"(\w+)\"", "".join(p.read_text() for p in (ROOT / "pipeline").glob("*.py"))
        )
    }
    assert steps - UNTRACKED <= set(rules())


@pytest.mark.parametrize("step", sorted(rules()))
def test_a_rule_lists_every_module_its_step_uses(step):
    prerequisites = rules()[step]
    needed = {f"pipeline/{name}.py" for name in imports(step) | {step}}
    if "pipeline/text.py" in needed:
        needed.add("sql/macros.sql")  # read by pipeline/text.py
    missing = {path for path in needed if path not in prerequisites}
    assert missing == set(), f"the rule running pipeline.{step} misses {sorted(missing)}"
