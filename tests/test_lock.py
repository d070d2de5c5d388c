"""requirements.lock pins every package the project needs, and the project's venv holds exactly those versions.

The Makefile installs from the lock alone (`make lock` rewrites it), so a new machine gets the versions the tests
passed with. These checks read files and installed metadata only: no network.
"""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"


def lock_entries() -> list[tuple[int, str, Requirement]]:
    """Every requirement line of the lock, as (line number, raw line, parsed requirement)."""
    entries = []
    for number, raw in enumerate(LOCK.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"requirements.lock:{number}: only pinned packages belong here: {raw!r}"
        entries.append((number, raw, Requirement(line.rstrip("\\").strip())))
    return entries


def pins() -> dict[str, str]:
    """Package name to pinned version, for the entries whose marker holds in this interpreter."""
    return {
        canonicalize_name(req.name): next(iter(req.specifier)).version
        for _, _, req in lock_entries()
        if req.marker is None or req.marker.evaluate()
    }


def project_requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        names.extend(extra)
    return [Requirement(name) for name in names]


def test_every_package_is_pinned_exactly():
    entries = lock_entries()
    assert len(entries) > 20, "requirements.lock looks empty"
    for number, raw, req in entries:
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version and req.url is None, (
            f"requirements.lock:{number}: not pinned with ==: {raw!r}"
        )


def test_each_package_appears_once_per_environment():
    seen: dict[tuple[str, str], int] = {}
    for number, _, req in lock_entries():
        key = (canonicalize_name(req.name), str(req.marker or ""))
        assert key not in seen, f"requirements.lock:{number}: {req.name} already pinned on line {seen[key]}"
        seen[key] = number


def test_every_dependency_of_pyproject_is_locked_at_a_version_it_allows():
    locked = {canonicalize_name(req.name): req for _, _, req in lock_entries()}
    for wanted in project_requirements():
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{wanted.name} is in pyproject.toml but not in requirements.lock: run make lock"
        version = next(iter(locked[name].specifier)).version
        assert wanted.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {wanted.name}=={version}, outside pyproject.toml's {wanted}: run make lock"
        )


def test_no_torch():
    # The pip config on these machines caps torch; the project does not use it, so nothing may pull it in.
    torch = {"torch", "torchvision"} & {canonicalize_name(req.name) for _, _, req in lock_entries()}
    assert not torch, f"requirements.lock pins {sorted(torch)}, which the project does not use"


def in_project_venv() -> bool:
    if sys.prefix == sys.base_prefix:
        return False
    try:
        metadata.distribution("reviewlens")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not in_project_venv(), reason="not running inside the project's virtual environment")
def test_installed_versions_are_the_locked_ones():
    wrong = []
    for name, version in sorted(pins().items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: locked {version}, not installed")
            continue
        if installed != version:
            wrong.append(f"{name}: locked {version}, installed {installed}")
    assert not wrong, "the venv differs from requirements.lock (make reinstalls when the lock changes):\n" + "\n".join(
        wrong
    )
