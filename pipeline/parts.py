"""Per-text work, a part of the texts at a time: here, in the step's own process (the default), or, with RAY_ADDRESS
set (Ray's own variable: ray://head:10001, auto, 127.0.0.1:6379), as a Ray Data job on that cluster.

A step describes its work as a `Work`: made from paths and settings (what travels to the cluster), opened once per
process (a model loaded once per Ray actor: `map_batches` with a callable class), then called on one part's rows, and
giving a dict of arrays. Here the step gets those arrays part by part and writes its outputs as it always has. On a
cluster each actor writes its part's arrays as a file under the parts folder (the build folder, which every node must
see at the same path, or `[cluster] storage`: s3://, gs://, any URI pyarrow opens), and the step reads them back in
order and writes the same outputs from them: the file is the same either way. The parts are the same too (`[cluster]
part_size` texts), so each is computed exactly as here.

Parts already written by an earlier run of the step on the same inputs and code are kept: a build stopped by a lost
cluster resumes where it stopped. Ray itself retries the parts of a worker that dies. Ray is imported only in a
child process (`python -m pipeline.parts STORAGE JOB`), started for the cluster's work alone: a build without
RAY_ADDRESS never imports it, and the step's own process never loads it.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from pipeline.config import ROOT
from pipeline.errors import PipelineError, first_line

ADDRESS_ENV = "RAY_ADDRESS"
# Not shipped to the cluster with the code (runtime_env working_dir): what the workers never read.
NOT_SHIPPED = ["/.venv", "/build", "/.git", "/tests", "/bench", "**/__pycache__", "*.duckdb"]
GONE = 3  # the child's exit status when the cluster cannot be reached or went away


def address() -> str | None:
    """The Ray cluster to run on, or None: here."""
    return os.environ.get(ADDRESS_ENV) or None


def split(config: dict[str, Any], texts: int | np.ndarray) -> list[slice | np.ndarray]:
    """`texts` (a number of texts, or row numbers) in parts of [cluster] part_size, in order: the same parts here and
    on a cluster, so that each part is computed the same way."""
    size, n = max(1, config["cluster"]["part_size"]), texts if isinstance(texts, int) else len(texts)
    where = [slice(start, min(start + size, n)) for start in range(0, n, size)]
    return where if isinstance(texts, int) else [texts[part] for part in where]


class Work:
    """What a step does to each part of the texts. Subclasses set `step` (its [cluster.STEP] settings) and keep only
    paths and settings as attributes; what they open (a model, the texts) goes in attributes named with a leading
    underscore, which stay in the process that opened them."""

    step: str
    here = False  # work that stays in the step's process even with a cluster (a model called at an address)

    def open(self) -> None:
        """Load what every part needs (the model, the texts), once per process."""

    def __call__(self, rows: slice | np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def inputs(self) -> list[Path]:
        """The files and folders the work reads: every path among its attributes."""
        return [value for value in vars(self).values() if isinstance(value, Path)]

    def __getstate__(self) -> dict:
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}


def run(work: Work, parts: Sequence[slice | np.ndarray], what: str, config: dict[str, Any]) -> Iterator[dict]:
    """Each part's arrays, in order: computed here, or on the cluster at RAY_ADDRESS (but for work on fewer texts
    than [cluster] here_below, whose actors would take longer to start than the work)."""
    if not address() or work.here or _texts(parts) < config["cluster"]["here_below"]:
        work.open()
        with tqdm(total=_texts(parts), desc=what, unit=" texts", leave=False, mininterval=1) as bar:
            for rows in parts:
                yield work(rows)
                bar.update(_length(rows))
        return
    store = Store(config["cluster"]["storage"], work, parts, what)
    done = store.done()
    if done:
        print(f"{what}: {len(done)} of {len(parts)} parts kept from an earlier run", file=sys.stderr)
    todo = [i for i in range(len(parts)) if i not in done]
    if todo:
        _on_cluster(store, work, parts, todo, what, config["cluster"])
    for i in range(len(parts)):
        yield store.read(i)
    store.remove()


def _length(rows: slice | np.ndarray) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


def _texts(parts: Sequence[slice | np.ndarray]) -> int:
    return sum(_length(rows) for rows in parts)


class Store:
    """Where a step's parts are written on a cluster: under the build's parts/ folder or the storage URI, a folder for
    the step's output and the work (a step may have several), and in it one for a fingerprint of the work, its
    inputs, parts and code. Another fingerprint is another run: its folder is removed when this one starts."""

    def __init__(self, storage: str, work: Work, parts: Sequence, what: str) -> None:
        from pyarrow import fs

        self.name = f"{(os.environ.get('REVIEWLENS_TARGET') or work.step).replace('/', '-')}/{slug(what)}"
        base = storage.rstrip("/") if storage else str(Path(os.environ.get("REVIEWLENS_BUILD", "build")).resolve())
        try:
            self.fs, root = fs.FileSystem.from_uri(base if "://" in base else Path(base).resolve().as_uri())
        except Exception as e:  # pyarrow's errors for an unknown scheme or missing credentials
            raise PipelineError(f"[cluster] storage = {storage!r}: cannot open it ({e}); fix the setting") from None
        self.uri = storage.rstrip("/") if storage else None
        self.step_root = f"{root}/parts/{self.name}"
        self.folder = f"{self.step_root}/{fingerprint(work, parts)}"
        for old in self.fs.get_file_info(fs.FileSelector(self.step_root, allow_not_found=True)):
            if old.path.rstrip("/") != self.folder:
                self.fs.delete_dir(old.path)
        self.fs.create_dir(self.folder)

    def path(self, i: int) -> str:
        return f"{self.folder}/{i:05d}.npz"

    def done(self) -> set[int]:
        from pyarrow import fs

        names = [Path(f.path).name for f in self.fs.get_file_info(fs.FileSelector(self.folder, allow_not_found=True))]
        return {int(name[:5]) for name in names if name.endswith(".npz") and name[:5].isdigit()}

    def write(self, i: int, arrays: dict[str, np.ndarray]) -> None:
        """A part's arrays, written aside and moved into place: a part file is whole or absent."""
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        aside = f"{self.folder}/.{i:05d}.{os.getpid()}.tmp"
        with self.fs.open_output_stream(aside) as out:
            out.write(buffer.getvalue())
        self.fs.move(aside, self.path(i))

    def read(self, i: int) -> dict[str, np.ndarray]:
        with self.fs.open_input_file(self.path(i)) as f, np.load(io.BytesIO(f.read()), allow_pickle=False) as found:
            return {name: found[name] for name in found.files}

    def put(self, name: str, data: bytes) -> str:
        path = f"{self.folder}/{name}"
        with self.fs.open_output_stream(path) as out:
            out.write(data)
        return path

    def get(self, path: str) -> bytes:
        with self.fs.open_input_file(path) as f:
            return f.read()

    def upload(self, local: Path) -> str:
        """A file or folder the work reads, copied to the storage once (by its fingerprint), for the workers."""
        from pyarrow import fs

        where = f"{self.step_root}-inputs/{_stat_digest([local])}/{local.name}"
        if self.fs.get_file_info(where).type == fs.FileType.NotFound:
            self.fs.create_dir(where.rsplit("/", 1)[0])
            fs.copy_files(str(local), where, source_filesystem=fs.LocalFileSystem(), destination_filesystem=self.fs)
        return where

    def remove(self) -> None:
        self.fs.delete_dir(self.step_root)
        if self.uri:
            self.fs.delete_dir(f"{self.step_root}-inputs")


def slug(what: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", what).strip("-")


def fingerprint(work: Work, parts: Sequence) -> str:
    """Another run of the same work on the same inputs, parts and code has the same fingerprint."""
    digest = hashlib.sha256(pickle.dumps((work, list(parts)), protocol=4))
    digest.update(_stat_digest(work.inputs() + sorted((ROOT / "pipeline").rglob("*.py"))).encode())
    return digest.hexdigest()[:16]


def _stat_digest(paths: list[Path]) -> str:
    """A fingerprint of files (and every file of folders) by name, size and time."""
    digest = hashlib.sha256()
    for path in paths:
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def _on_cluster(store: Store, work: Work, parts: Sequence, todo: list[int], what: str, settings: dict) -> None:
    """Compute the parts of `todo` on the cluster, in a child process that drives the Ray Data job, with a bar that
    counts the texts done. A lost cluster ends in a one-line error; the parts written so far stay for the next run."""
    step = settings[work.step]
    inputs = {}
    if store.uri:  # the workers read the inputs from the storage, not from this machine's folders
        inputs = {str(path): store.upload(path) for path in work.inputs() if path.exists()}
    job = {"work": work, "parts": list(parts), "todo": todo, "inputs": inputs, "address": address(),
           "actors": min(int(step["actors"]), len(todo)), "cpus": float(step["cpus"]), "gpus": float(step["gpus"]),
           "what": what}  # fmt: skip
    job_path = store.put("job.pkl", pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    logs = Path(os.environ.get("REVIEWLENS_BUILD", "build")).resolve() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"ray-{store.name.replace('/', '-')}.log"
    uri, message, reached = store.uri or "", None, False
    with open(log, "w") as err, tqdm(total=sum(_length(parts[i]) for i in todo), desc=f"{what} on {address()}",
                                     unit=" texts", leave=False, mininterval=1) as bar:  # fmt: skip
        child = subprocess.Popen(
            [sys.executable, "-m", "pipeline.parts", uri, job_path], stdout=subprocess.PIPE, stderr=err, text=True,
            # A head that is gone is given up on after 10 s rather than Ray's 60.
            env={"RAY_gcs_rpc_server_reconnect_timeout_s": "10", **os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
        )  # fmt: skip
        for line in child.stdout:
            reached = reached or line.startswith("reached")
            if line.startswith("part "):
                bar.update(int(line.split()[2]))
            elif line.startswith("error: "):
                message = line[len("error: ") :].strip()
        code = child.wait()
    if code == 0:
        return
    if not reached:
        raise PipelineError(
            f"the Ray cluster at {address()} could not be reached for {what} (see {log}); start it (ray start --head) "
            f"or unset {ADDRESS_ENV} to build here"
        )
    if code == GONE or message is None:
        raise PipelineError(
            f"the Ray cluster at {address()} went away during {what} ({len(store.done())} of {len(parts)} parts done, "
            f"kept for the next run; see {log}); start it again and rerun, or unset {ADDRESS_ENV} to build here"
        )
    raise PipelineError(message)


# --- the child process: the Ray Data job ------------------------------------------------------------------------


class _Actor:
    """One worker's share of a job: the work opened once, then a part per call, written to the store."""

    def __init__(self, storage: str, job_path: str) -> None:
        from pyarrow import fs

        self.store = _store_of(storage, job_path)
        job = pickle.loads(self.store.get(job_path))
        self.work, self.parts = job["work"], job["parts"]
        if job["inputs"]:  # copy the inputs from the storage to this worker, once
            local = Path(tempfile.mkdtemp(prefix="reviewlens-inputs-"))
            moved = {}
            for original, remote in job["inputs"].items():
                target = local / Path(remote).parent.name / Path(original).name
                target.parent.mkdir(parents=True, exist_ok=True)
                fs.copy_files(remote, str(target), source_filesystem=self.store.fs,
                              destination_filesystem=fs.LocalFileSystem())  # fmt: skip
                moved[original] = target
            for key, value in vars(self.work).items():
                if isinstance(value, Path) and str(value) in moved:
                    setattr(self.work, key, moved[str(value)])
        self.work.open()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = []
        for i in batch["part"]:
            self.store.write(int(i), self.work(self.parts[int(i)]))
            texts.append(_length(self.parts[int(i)]))
        return {"part": batch["part"], "texts": np.array(texts)}


def _store_of(storage: str, job_path: str) -> Store:
    """The store of a job, as the child and the actors reach it."""
    from pyarrow import fs

    store = Store.__new__(Store)
    store.fs = fs.FileSystem.from_uri(storage)[0] if storage else fs.LocalFileSystem()
    store.folder, store.uri = job_path.rsplit("/", 1)[0], storage or None
    return store


def _first_cause(error: BaseException) -> BaseException:
    """The error a worker raised, under Ray's wrappers (RayTaskError, Ray Data's UserCodeException)."""
    seen = error
    while True:
        if isinstance(seen, PipelineError):
            return seen
        below = getattr(seen, "cause", None) or seen.__cause__
        if not isinstance(below, BaseException) or below is seen:
            return seen
        seen = below


def _drive(storage: str, job_path: str) -> int:
    """Run a job on the cluster: one Ray Data row per part, mapped by a pool of actors; print each part done."""
    import ray
    from ray.data import ActorPoolStrategy, DataContext
    from ray.exceptions import RayTaskError

    store = _store_of(storage, job_path)
    job = pickle.loads(store.get(job_path))
    try:
        ray.init(
            address=job["address"], log_to_driver=False, logging_level="ERROR",
            runtime_env={"working_dir": str(ROOT), "excludes": NOT_SHIPPED},
        )  # fmt: skip
    except Exception as e:  # ConnectionError, or Ray's own for an address it cannot reach
        print(f"cannot reach the Ray cluster at {job['address']}: {type(e).__name__}: {e}", file=sys.stderr)
        return GONE
    print("reached", flush=True)
    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    items = ray.data.from_items([{"part": i} for i in job["todo"]], override_num_blocks=len(job["todo"]))
    done = items.map_batches(
        _Actor, fn_constructor_args=(storage, job_path), batch_size=1, compute=ActorPoolStrategy(size=job["actors"]),
        num_cpus=job["cpus"], num_gpus=job["gpus"] or None,
    )  # fmt: skip
    try:
        for row in done.iter_rows():
            print(f"part {row['part']} {row['texts']}", flush=True)
    except RayTaskError as e:
        cause = _first_cause(e)
        if isinstance(cause, PipelineError):
            print(f"error: {cause}", flush=True)
        else:
            print(f"error: {job['what']} failed on the cluster ({first_line(cause, with_type=True)}); see the log",
                  flush=True)  # fmt: skip
        return 1
    except Exception as e:  # the cluster went away: Ray's errors for a lost head or lost nodes
        print(f"lost: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return GONE
    return 0


if __name__ == "__main__":
    sys.exit(_drive(sys.argv[1], sys.argv[2]))
