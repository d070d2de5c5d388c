"""The per-text steps on a real Ray cluster: a head and a worker started with `ray start` on 127.0.0.1 (one CPU each),
the pipeline run through them with RAY_ADDRESS, and the database compared with the one built here: on TREC (several
parts, two actors, one of them killed mid-step) and on the small IMDB build. Then the faults: a cluster that cannot be
reached, one that goes away mid-step (the old database kept, the next build resuming from the parts written), the
parts kept in object storage, and a build without RAY_ADDRESS, which never imports Ray."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT, copy_build, last_error_line, make, tiny_settings_with

TREC = ROOT.parent / "shared" / "data" / "trec.csv"
RAY = str(Path(sys.executable).with_name("ray"))
# Several parts of TREC's 5,952 texts, every step on the cluster however few its texts, and a map fitted on a sample,
# so that placing the others runs on the cluster.
CLUSTER_SETTINGS = """
[cluster]
part_size = 1500
here_below = 0
[maps]
fit_sample = 2000
"""
# The outputs of the per-text steps: deleted from a copy of the local build, so that the cluster makes them again.
PER_TEXT = ["tokens.npz", "metadata.parquet", "predictions", "latent", "attributions", "maps", "behaviour/*.parquet",
            "models/baseline.*"]  # fmt: skip
# When and from where it was built, and the settings' digest (a cluster's settings are not the local build's).
NOT_COMPARED = {"built_at", "base_file", "base_sha256", "base_built_at"}
NOT_COMPARED_META = ("built_at", "config", "config_digest")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A Ray head and one worker on this machine, one CPU each, started and stopped with Ray's own command."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"

    def ray(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        return subprocess.run([RAY, *args], capture_output=True, text=True, env=env, timeout=120)

    def start(self) -> None:
        head = self.ray("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port), "--num-cpus",
                        "1", "--include-dashboard", "false", "--disable-usage-stats")  # fmt: skip
        assert head.returncode == 0, head.stderr[-2000:]
        worker = self.ray("start", "--address", self.address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1")
        assert worker.returncode == 0, worker.stderr[-2000:]

    def stop(self) -> None:
        self.ray("stop", "--force")

    def kill(self) -> None:
        """The whole cluster gone at once, as a machine lost: its processes killed outright, then cleaned up."""
        subprocess.run(["pkill", "-9", "-f", r"gcs_server|raylet|ray::"], check=False)
        self.stop()


@pytest.fixture(scope="module")
def cluster():
    found = Cluster()
    found.start()
    yield found
    found.stop()


def on(cluster: Cluster) -> dict:
    return {"RAY_ADDRESS": cluster.address}


def per_text_removed(build: Path) -> Path:
    for pattern in PER_TEXT:
        for path in build.glob(pattern):
            subprocess.run(["rm", "-rf", str(path)], check=True)
    return build


def differences(a: Path, b: Path) -> dict[str, float | str]:
    """Each column of either database that differs: its largest difference relative to the column's scale (numbers,
    lists of numbers), or how many rows differ. Rows are matched in the order of the columns that are not floats."""
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    found = {}
    tables = [
        row[0] for row in con.execute("select table_name from duckdb_tables() where database_name = 'a'").fetchall()
    ]
    for table in tables:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where database_name = 'a' and table_name = ? "
            "order by column_index", [table]
        ).fetchall()  # fmt: skip
        names = [name for name, _ in columns if name not in NOT_COMPARED]
        select = "select " + ", ".join(f'"{name}"' for name in names) + " from {}." + table
        if table == "meta":
            select += f" where key not in {NOT_COMPARED_META}"
        differ = con.execute(f"select count(*) from ({select.format('a')} except all {select.format('b')})").fetchone()[
            0
        ]
        differ += con.execute(
            f"select count(*) from ({select.format('b')} except all {select.format('a')})"
        ).fetchone()[0]
        if not differ:
            continue
        keys = [f'"{name}"' for name, kind in columns if name in names and "FLOAT" not in kind and "DOUBLE" not in kind]
        order = " order by " + ", ".join(keys) if keys else ""
        x, y = (con.execute(select.format(side) + order).df() for side in ("a", "b"))
        if len(x) != len(y):
            found[table] = f"{len(x)} rows against {len(y)}"
            continue
        for name in names:
            u, v = x[name], y[name]
            if u.dtype.kind == "f":
                scale = max(1.0, float(np.nanmax(np.abs(u.to_numpy())))) if u.notna().any() else 1.0
                gap = float(np.nanmax(np.abs(u.to_numpy() - v.to_numpy()))) / scale if u.notna().any() else 0.0
            elif u.map(lambda value: isinstance(value, np.ndarray) and value.dtype.kind == "f").any():
                gap = max(float(np.max(np.abs(p - q), initial=0.0)) for p, q in zip(u, v, strict=True) if p is not None)
            else:
                gap = f"{int((u.astype(str) != v.astype(str)).sum())} rows differ"
            if gap:
                found[f"{table}.{name}"] = gap
    return found


def beyond(found: dict, tolerance: float = 1e-6) -> dict:
    return {name: gap for name, gap in found.items() if not isinstance(gap, float) or gap > tolerance}


class Killer(threading.Thread):
    """Kills one of the cluster's actors with SIGKILL while it works on a part, once a part has been written: a
    worker lost in the middle of a step."""

    def __init__(self, build: Path) -> None:
        super().__init__(daemon=True)
        self.build, self.killed, self.stopping = build, None, threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            working = subprocess.run(["pgrep", "-f", r"ray::MapWorker.*\.submit"], capture_output=True, text=True)
            if working.stdout.split() and list(self.build.glob("parts/*/*/*/*.npz")):
                self.killed = int(working.stdout.split()[0])
                os.kill(self.killed, signal.SIGKILL)
                return
            time.sleep(0.05)


@pytest.fixture(scope="module")
def trec(tmp_path_factory):
    """TREC built here, with parts of 1,500 texts."""
    if not TREC.is_file():
        pytest.skip(f"{TREC} is not here")
    folder = tmp_path_factory.mktemp("trec")
    config = tiny_settings_with(folder / "settings.toml", CLUSTER_SETTINGS)
    result = make(folder / "local", "all", data=TREC, config=config)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "local", config


@pytest.fixture(scope="module")
def trec_on_cluster(trec, cluster, tmp_path_factory):
    """The same build with every per-text step on the cluster, one of its actors killed while it works."""
    local, config = trec
    build = per_text_removed(copy_build(local, tmp_path_factory.mktemp("trec-ray") / "build"))
    killer = Killer(build)
    killer.start()
    result = make(build, "all", data=TREC, config=config, env=on(cluster))
    killer.stopping.set()
    assert result.returncode == 0, result.stderr[-3000:]
    return build, result, killer.killed


def test_trec_on_the_cluster_is_the_same_database(trec, trec_on_cluster):
    local, _ = trec
    build, result, killed = trec_on_cluster
    assert killed, "no actor was found at work to kill"
    found = differences(local / "reviewlens.duckdb", build / "reviewlens.duckdb")
    assert not beyond(found), found
    # Every per-text step ran there, each a Ray Data job with its log; none left its parts behind.
    for what in ("tokenizing", "encoding", "metadata", "dense: predictions and attributions", "cnn: predictions",
                 "baseline: predictions", "dense: changed texts", "placing the other texts"):  # fmt: skip
        assert f"{what}" in result.stderr and " on 127.0.0.1:" in result.stderr, what
    assert len(list((build / "logs").glob("ray-*.log"))) >= 10
    assert not list(build.glob("parts/*/*/*/*.npz"))


def test_small_imdb_on_the_cluster_is_the_same_database(build_dir, database, tarball, cluster, tmp_path):
    build = per_text_removed(copy_build(build_dir, tmp_path / "build"))
    config = tiny_settings_with(tmp_path / "settings.toml", "[cluster]\nhere_below = 0\n")
    result = make(build, "all", data=tarball, config=config, env=on(cluster))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "predictions and attributions on 127.0.0.1:" in result.stderr
    found = differences(database, build / "reviewlens.duckdb")
    assert not beyond(found), found


def test_a_cluster_that_cannot_be_reached_is_one_line(trec, tmp_path):
    local, config = trec
    build = copy_build(local, tmp_path / "build")
    (build / "metadata.parquet").unlink()
    before = (build / "reviewlens.duckdb").stat()
    result = make(build, "all", data=TREC, config=config, env={"RAY_ADDRESS": f"127.0.0.1:{free_port()}"})
    assert result.returncode != 0
    assert "could not be reached for metadata" in last_error_line(result) and "unset RAY_ADDRESS" in result.stderr
    assert (build / "reviewlens.duckdb").stat().st_mtime_ns == before.st_mtime_ns


def test_a_step_of_few_texts_runs_here(trec, tmp_path):
    """Below [cluster] here_below texts, starting the cluster's actors would cost more than the work: the step runs
    where make runs, so an address that nothing answers does not matter."""
    local, _ = trec
    config = json.loads((local / "settings" / "config.json").read_text())
    config["cluster"]["here_below"] = 10_000
    settings = tmp_path / "config.json"
    settings.write_text(json.dumps(config))
    out = tmp_path / "metadata.parquet"
    command = [sys.executable, "-m", "pipeline", "metadata", "--config", str(settings), "--texts",
               str(local / "texts.parquet"), "--out", str(out)]  # fmt: skip
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{free_port()}", "REVIEWLENS_BUILD": str(tmp_path)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert " on 127.0.0.1" not in result.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local / "metadata.parquet"))


def test_a_lost_cluster_stops_the_build_and_the_next_resumes(trec, trec_on_cluster, cluster, tmp_path):
    local, config = trec
    build = copy_build(trec_on_cluster[0], tmp_path / "build")
    for path in ("predictions/cnn.parquet", "attributions/cnn.parquet", "latent/cnn.npy"):
        (build / path).unlink()
    before = (build / "reviewlens.duckdb").stat()
    run = subprocess.Popen(
        ["make", "-C", str(ROOT), "all", f"BUILD={build}", f"CONFIG={config}", f"DATA={TREC}",
         f"PYTHON={sys.executable}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **on(cluster)},
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not list(build.glob("parts/*/*/*/*.npz")) and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    cluster.kill()  # the whole cluster, head and worker, mid-step
    try:
        _, stderr = run.communicate(timeout=300)
    finally:
        cluster.start()
    assert run.returncode != 0
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if "error: " in line]
    assert any("went away during cnn: predictions and attributions" in line for line in errors), errors
    assert (build / "reviewlens.duckdb").stat().st_mtime_ns == before.st_mtime_ns  # the old database, untouched
    kept = len(list(build.glob("parts/*/cnn-predictions-and-attributions/*/*.npz")))
    assert 0 < kept < 4

    result = make(build, "all", data=TREC, config=config, env=on(cluster))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{kept} of 4 parts kept from an earlier run" in result.stderr
    assert not beyond(differences(local / "reviewlens.duckdb", build / "reviewlens.duckdb"))


def test_parts_in_object_storage(trec, cluster, tmp_path):
    """With [cluster] storage set to a URI, the inputs go there for the workers and the parts come back from there
    (a file:// URI here; s3:// and gs:// go through the same pyarrow file system calls)."""
    local, _ = trec
    storage = tmp_path / "bucket"
    config = json.loads((local / "settings" / "config.json").read_text())
    config["cluster"]["storage"] = storage.as_uri()
    settings = tmp_path / "config.json"
    settings.write_text(json.dumps(config))
    out = tmp_path / "metadata.parquet"
    command = [sys.executable, "-m", "pipeline", "metadata", "--config", str(settings), "--texts",
               str(local / "texts.parquet"), "--out", str(out)]  # fmt: skip
    env = {**os.environ, **on(cluster), "REVIEWLENS_BUILD": str(tmp_path)}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local / "metadata.parquet"))
    assert storage.is_dir() and not list(storage.rglob("*.npz")), "parts left in the storage"

    config["cluster"]["storage"] = "nowhere://bucket/prefix"
    settings.write_text(json.dumps(config))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "[cluster] storage = 'nowhere://bucket/prefix': cannot open it" in last_error_line(result)


def test_without_ray_address_ray_is_never_imported(trec, tmp_path):
    """A build here runs with a `ray` package that fails on import first on the path: no step may import it."""
    local, _ = trec
    fake = tmp_path / "fake" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('ray was imported')\n")
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    env.pop("RAY_ADDRESS", None)
    build = copy_build(local, tmp_path / "build")
    for path in ("metadata.parquet", "predictions/dense.parquet", "maps/dense.npy"):
        (build / path).unlink()
    result = make(build, "all", data=TREC, config=trec[1], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert " on 127.0.0.1" not in result.stderr and not (build / "parts").exists()
