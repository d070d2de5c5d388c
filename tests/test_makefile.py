"""The Makefile follows the code: it names no module, and each step's dependency file, written as the step runs,
lists every module the step imports, so a changed module reruns exactly the steps that use it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from pipeline import cli
from pipeline.config import ROOT
from tests.conftest import copy_build, make

MAKEFILE = (ROOT / "Makefile").read_text()
RULES = "\n".join(line for line in MAKEFILE.splitlines() if not line.startswith("#"))
# Steps make runs every time (settings) or only without DATA= (download): they have no stale inputs to track.
UNTRACKED = {"settings", "download"}


def make_dry_run(build: Path, tarball: Path, *options: str) -> str:
    """What `make all` would run on the session's build, without running it."""
    result = make(build, "-n", *options, "all", data=tarball)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def steps_run(output: str) -> set[str]:
    return set(re.findall(r"-m pipeline (\w+)", output))


def dependency_files(build: Path) -> dict[str, list[str]]:
    """Each step's dependency file: the step that wrote it (from the target's recipe) -> the files it lists."""
    found = {}
    for path in sorted((build / "deps").glob("*.d")):
        target, _, files = path.read_text().splitlines()[0].partition(": ")
        found[target.removeprefix("$(BUILD)/")] = files.split()
    return found


def module_imports(path: Path) -> set[str]:
    """The project's modules a module imports at its top, as files."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        names = []
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline"):
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names if alias.name.startswith("pipeline")]
        for name in names:
            for candidate in (ROOT / f"{name.replace('.', '/')}.py", ROOT / name.replace(".", "/") / "__init__.py"):
                if candidate.is_file():
                    found.add(str(candidate.relative_to(ROOT)))
    return found


def test_the_makefile_names_no_module():
    assert not re.search(r"(pipeline|viewer|sql)/\S+\.(py|sql)", RULES)
    assert not re.search(r"-m pipeline\.", RULES)


def test_every_step_has_a_rule_and_every_rule_runs_a_step():
    steps = set(cli.steps("pipeline"))
    ran = set(re.findall(r"\$\(STEP\) (\w+)", MAKEFILE))
    assert ran <= steps
    assert steps - UNTRACKED <= ran


def test_a_dependency_file_lists_every_module_its_step_imports(build_dir):
    found = dependency_files(build_dir)
    steps = cli.steps("pipeline")
    assert len(found) >= 15
    for target, files in found.items():
        assert all((ROOT / file).is_file() for file in files), target
        # The step's own module is among them: its imports, and theirs, must be too.
        own = [file for file in files if Path(file).stem in steps]
        assert own, target
        for module in files:
            if module.endswith(".py"):
                assert module_imports(ROOT / module) <= set(files), (target, module)
    # Files other than modules: the tokenizer's macros for every step that tokenizes, the schema for the database.
    assert "sql/macros.sql" in found["tokens.npz"] and "sql/schema.sql" in found["reviewlens.duckdb"]


def test_the_csv_reader_is_a_dependency_of_reading_the_data_only(build_dir):
    found = dependency_files(build_dir)
    using = {target for target, files in found.items() if "pipeline/data/formats.py" in files}
    assert using and using <= {"stamps/ingest.mk", "settings/models.mk"}, using


def test_a_changed_reader_that_reads_the_same_texts_reruns_nothing_after_it(build_dir, tarball, tmp_path):
    build = copy_build(build_dir, tmp_path / "build")
    before = (build / "texts.parquet").stat().st_mtime_ns
    ran = make(build, "all", "-W", "pipeline/data/formats.py", data=tarball)
    assert ran.returncode == 0, ran.stderr
    assert steps_run(ran.stdout) == {"ingest"}
    assert (build / "texts.parquet").stat().st_mtime_ns == before
    assert steps_run(make(build, "all", data=tarball).stdout) == set()
    # A missing file is made again, whatever the stamp says, and what follows it with it.
    (build / "dataset.json").unlink()
    assert {"ingest", "preprocess", "build_db"} <= steps_run(make_dry_run(build, tarball))


def test_a_changed_module_reruns_exactly_the_steps_that_import_it(build_dir, tarball):
    assert steps_run(make_dry_run(build_dir, tarball)) == set()
    assert steps_run(make_dry_run(build_dir, tarball, "-W", "pipeline/whole_set/maps.py")) == {"maps", "build_db"}
    changed = steps_run(make_dry_run(build_dir, tarball, "-W", "pipeline/models/trained.py"))
    assert {"predict", "verdicts", "build_db"} <= changed and "train" not in changed


def test_an_unknown_step_is_refused_with_the_list():
    result = subprocess.run([sys.executable, "-m", "pipeline", "nope"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no step 'nope'; run python -m pipeline STEP, one of: ")
    assert "ingest" in result.stderr
