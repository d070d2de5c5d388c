"""requirements.lock pins every package the project needs, and the project's venv holds exactly those versions;
requirements-cluster.lock pins the optional extra for a Ray cluster at the same versions.

The Makefile installs from the locks alone (`make lock` rewrites them), so a new machine gets the versions the tests
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
CLUSTER_LOCK = ROOT / "requirements-cluster.lock"
PYPROJECT = ROOT / "pyproject.toml"
CLUSTER = "cluster"  # the extra with a lock of its own, installed only for a cluster and the tests


def lock_entries(lock: Path = LOCK) -> list[tuple[int, str, Requirement]]:
    """Every requirement line of the lock, as (line number, raw line, parsed requirement)."""
    entries = []
    for number, raw in enumerate(lock.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("-"), f"requirements.lock:{number}: only pinned packages belong here: {raw!r}"
        entries.append((number, raw, Requirement(line.rstrip("\\").strip())))
    return entries


def pins(lock: Path = LOCK) -> dict[str, str]:
    """Package name to pinned version, for the entries whose marker holds in this interpreter."""
    return {
        canonicalize_name(req.name): next(iter(req.specifier)).version
        for _, _, req in lock_entries(lock)
        if req.marker is None or req.marker.evaluate()
    }


def project_requirements(cluster: bool = False) -> list[Requirement]:
    """The project's requirements in the main lock, or (cluster) those of the cluster's extra."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = [] if cluster else list(project.get("dependencies", []))
    for name, extra in project.get("optional-dependencies", {}).items():
        if (name == CLUSTER) == cluster:
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


@pytest.mark.parametrize("lock", [LOCK, CLUSTER_LOCK], ids=["main", "cluster"])
def test_every_dependency_of_pyproject_is_locked_at_a_version_it_allows(lock):
    locked = {canonicalize_name(req.name): req for _, _, req in lock_entries(lock)}
    for wanted in project_requirements(cluster=lock == CLUSTER_LOCK):
        name = canonicalize_name(wanted.name)
        assert name in locked, f"{wanted.name} is in pyproject.toml but not in {lock.name}: run make lock"
        version = next(iter(locked[name].specifier)).version
        assert wanted.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {wanted.name}=={version}, outside pyproject.toml's {wanted}: run make lock"
        )


def test_the_cluster_lock_agrees_with_the_main_one():
    # Both are installed in one venv for the cluster's tests: a package in both has one version.
    main, cluster = pins(), pins(CLUSTER_LOCK)
    differ = {name: (main[name], cluster[name]) for name in main.keys() & cluster.keys() if main[name] != cluster[name]}
    assert not differ, f"requirements-cluster.lock pins other versions than requirements.lock: {differ}; run make lock"
    assert "ray" in cluster and "ray" not in main, "Ray belongs in requirements-cluster.lock alone"


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
