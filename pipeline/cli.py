"""What every pipeline step shares: how it is started (`python -m pipeline STEP`), argument parsing, one-line
errors, timing, atomic outputs, and the file that tells make what the step read."""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import importlib
import json
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline.config import ROOT, SOURCES
from pipeline.errors import PipelineError

TIMINGS_ENV = "REVIEWLENS_TIMINGS"
PACKAGES = ("pipeline", "viewer")  # the project's code that steps (and the static report) run
# Set by make for each step: the build folder, and the step's target within it, whose dependency file it writes.
BUILD_ENV = "REVIEWLENS_BUILD"
TARGET_ENV = "REVIEWLENS_TARGET"


def steps(package: str) -> dict[str, str]:
    """Every step of a package: each of its modules that defines main(), by the module's own name (unique)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "\ndef main(" in path.read_text():
            found[path.stem] = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return found


def start(package: str) -> None:
    """`python -m PACKAGE STEP [ARGS]`: run the step of that name."""
    known = steps(package)
    if len(sys.argv) < 2 or sys.argv[1] not in known:
        asked = f"no step {sys.argv[1]!r}; " if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else ""
        print(f"error: {asked}run python -m {package} STEP, one of: {', '.join(known)}", file=sys.stderr)
        sys.exit(2)
    step = sys.argv.pop(1)
    sys.argv[0] = f"python -m {package} {step}"
    run(step, lambda: importlib.import_module(known[step]).main())


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", default=None, help="TOML file laid over pipeline/config.toml")
    return p


def run(step: str, main: Callable[[], None]) -> None:
    """Run a step; user errors end as one line on stderr and exit 1, never a traceback."""
    # `kill` (SIGTERM) unwinds like Ctrl-C, so temporary files are removed on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        main()
    except PipelineError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"error: {step} interrupted; outputs of earlier runs are unchanged", file=sys.stderr)
        sys.exit(130)
    record_timing(step, _process_seconds())
    write_dependencies()


def write_dependencies() -> None:
    """The step's dependency file, as compilers write theirs (gcc -MMD -MP): its target (a path under $(BUILD))
    depends on every module of the project that the step imported and every other file of the project it read
    (config.SOURCES), each with an empty rule of its own so that a module moved away does not stop make. Make
    includes these files, so a changed module reruns exactly the steps that use it."""
    build, target = os.environ.get(BUILD_ENV), os.environ.get(TARGET_ENV)
    if not build or not target:
        return
    path = Path(build) / "deps" / f"{target.replace('/', '-')}.d"
    used = set(SOURCES)
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(ROOT / package) for package in PACKAGES):
            used.add(Path(file).resolve())
    names = sorted(str(file.relative_to(ROOT)) for file in used)
    with atomic_output(path) as tmp:
        tmp.write_text(f"$(BUILD)/{target}: {' '.join(names)}\n" + "".join(f"{name}:\n" for name in names))


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _process_seconds() -> float:
    """Wall time since this process started, imports (TensorFlow's take seconds) included."""
    with open("/proc/self/stat") as f:
        started_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - started_ticks / os.sysconf("SC_CLK_TCK")


def record_timing(step: str, seconds: float) -> None:
    """Wall time and peak memory of a step (or a part of one), for make bench, which sets TIMINGS_ENV."""
    path = os.environ.get(TIMINGS_ENV)
    if not path:
        return
    if "--model" in sys.argv:
        step = f"{step}_{sys.argv[sys.argv.index('--model') + 1]}"
    elif step in ("maps", "clusters"):  # named by the model's latent vectors
        step = f"{step}_{Path(sys.argv[sys.argv.index('--latent') + 1]).stem}"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = sum(u.ru_utime + u.ru_stime for u in (usage, resource.getrusage(resource.RUSAGE_CHILDREN)))
    # The CPU time says how much of the machine the step took, beside others that ran at the same time; the end, when.
    row = {"step": step, "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
           "peak_mib": round(usage.ru_maxrss / 1024, 1), "ended": round(time.time(), 2)}  # fmt: skip
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


@contextlib.contextmanager
def atomic_output(path: Path | str, keep_unchanged: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds (and, with
    `keep_unchanged`, only if its content differs: an unchanged file keeps its time, and make what follows it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        # Left by a step killed outright (SIGKILL, power loss): its process is gone.
        if not Path(f"/proc/{stale.name.rsplit('-', 1)[1].split('.')[0]}").exists():
            stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        if not (keep_unchanged and path.is_file() and filecmp.cmp(tmp, path, shallow=False)):
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
