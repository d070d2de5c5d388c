"""What every pipeline step shares: argument parsing, one-line errors, timing, atomic outputs."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from pipeline.errors import PipelineError

TIMINGS_ENV = "REVIEWLENS_TIMINGS"


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
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(path, "a") as f:
        f.write(json.dumps({"step": step, "seconds": round(seconds, 2), "peak_mib": round(peak_mib, 1)}) + "\n")


@contextlib.contextmanager
def atomic_output(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
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
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
