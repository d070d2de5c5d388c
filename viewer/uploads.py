"""Databases uploaded in the sidebar: kept on disk only while the browser session that uploaded them lasts.

A user's texts can be confidential, so each viewer process keeps its uploads in a private folder of its own
(mode 0700), removed when the process exits. A file is deleted, and its shared DuckDB connection closed, as soon as
no browser session shows it: the session opened another upload, the upload cannot be shown, or the session ended.

Streamlit keeps a session whose tab has gone for `server.disconnectedSessionTTL` seconds (120 by default), so that
a reloaded or briefly offline tab carries on with it; after that no tab can get it back, but Streamlit drops it
without telling the app. So a thread looks at the sessions holding files every second and counts one as ended once
it has been disconnected that long.

The files kept at once are capped in total (REVIEWLENS_UPLOAD_CAP_MB, 2,000 MB by default) so that open tabs
cannot fill the disk.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from viewer.database import forget

CAP_ENV = "REVIEWLENS_UPLOAD_CAP_MB"
DEFAULT_CAP_MB = 2000
MB = 1024 * 1024  # Streamlit's unit for server.maxUploadSize
PREFIX = "reviewlens-uploads-"
SWEEP_EVERY = 1.0  # seconds

_lock = threading.Lock()
_folder: Path | None = None
_shown: dict[str, Path] = {}  # browser session id -> the upload it shows
_sizes: dict[Path, int] = {}  # every file kept, shown by one session or more
_gone_since: dict[str, float] = {}  # session id -> when it was first seen disconnected
_busy: set[Path] = set()  # deleted files whose connection was still running a query
_sweeper: threading.Thread | None = None


def cap_mb() -> float:
    return float(os.environ.get(CAP_ENV) or DEFAULT_CAP_MB)


def over_cap() -> str:
    """The sidebar's one line when an upload would pass the cap."""
    return (
        f"Uploads are capped at {cap_mb():,g} MB in all on this viewer; close tabs that have a file open, "
        "or open the file with --db."
    )


def keep(data: bytes) -> Path | None:
    """Save an upload for this browser session, in place of the one it showed; None if it would pass the cap.

    Files are named by content, so tabs that upload the same file share one copy (and one connection).
    """
    session = get_script_run_ctx().session_id
    with _lock:
        path = _private_folder() / f"{hashlib.sha256(data).hexdigest()[:16]}.duckdb"
        if _shown.get(session) == path:
            return path
        # The file shown before is let go first: replacing it must not count against the cap.
        unused = _let_go(session)
        if path not in _sizes:
            if sum(_sizes.values()) + len(data) > cap_mb() * MB:
                path = None
            else:
                _write(path, data)
                _sizes[path] = len(data)
        if path is not None:
            _shown[session] = path
            _start_sweeper()
    _close(unused)
    return path


def let_go() -> None:
    """This browser session shows no upload any more (the one it opened cannot be shown): delete it if unshared."""
    session = get_script_run_ctx().session_id
    with _lock:
        unused = _let_go(session)
    _close(unused)


def _let_go(session: str) -> Path | None:
    """Delete the session's file if no other session shows it; return it so its connection is closed unlocked."""
    path = _shown.pop(session, None)
    _gone_since.pop(session, None)
    if path is None or path in _shown.values():
        return None
    del _sizes[path]
    path.unlink(missing_ok=True)
    return path


def _close(path: Path | None) -> None:
    # Outside the lock: closing waits for queries still running on the file.
    if path is not None and not forget(path):
        with _lock:
            _busy.add(path)


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(data)
    os.replace(partial, path)


def _private_folder() -> Path:
    global _folder
    if _folder is None:
        _remove_abandoned()
        # mkdtemp makes the folder readable by this user only (mode 0700).
        _folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def _remove_abandoned() -> None:
    """Remove the folders of viewers that were killed before they could remove their own."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = folder.name.removeprefix(PREFIX).split("-")[0]
        try:
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass  # gone already, or a live process of another user


def _start_sweeper() -> None:
    global _sweeper
    if _sweeper is None:
        _sweeper = threading.Thread(target=_sweep, name="reviewlens-uploads", daemon=True)
        _sweeper.start()


def _sweep() -> None:
    while True:
        time.sleep(SWEEP_EVERY)
        # Without a runtime (AppTest) no session can be seen to end; the folder goes at exit.
        if not Runtime.exists():
            continue
        runtime = Runtime.instance()
        ttl = st.get_option("server.disconnectedSessionTTL")
        now = time.monotonic()
        unused = []
        with _lock:
            for session in list(_shown):
                if runtime.is_active_session(session):
                    _gone_since.pop(session, None)
                elif now - _gone_since.setdefault(session, now) >= ttl:
                    unused.append(_let_go(session))
            unused.extend(_busy)
            _busy.clear()
        for path in unused:
            _close(path)
