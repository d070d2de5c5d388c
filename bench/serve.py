"""Start the viewer and a headless Chromium from Python: used by the browser tests and by `make bench`."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# A Streamlit page of one line: the floor `make bench` measures the viewer's pages against.
BARE_PAGE = ROOT / "bench" / "bare_page.py"
# Without the networking ones, Chromium keeps trying hosts this machine cannot reach. --disable-gpu keeps page
# compositing and raster on the CPU as before; WebGL (the scatter map's) still works, in software: ANGLE on
# SwiftShader, a fallback that Chromium 137+ may refuse without --enable-unsafe-swiftshader (Playwright adds it by
# default, but the map's tests must not depend on that).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def viewer(database: Path, timeout: float = 60, env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run viewer` on `database`, with `env` added to its environment; yields its URL once it answers
    its health check."""
    with streamlit_app("viewer", ["--db", str(database)], timeout, env) as url:
        yield url


@contextlib.contextmanager
def streamlit_app(
    script: Path | str, args: list[str] = (), timeout: float = 60, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`streamlit run script -- args` on a free port of this machine; yields its URL once it answers its health
    check."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
         "--server.port", str(port), "--", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise RuntimeError(f"{script} did not start: {server.stdout.read()[-2000:]}") from None
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # Streamlit can wait long for browser sessions to close; nothing of it needs keeping.
            server.kill()
            server.wait()


@contextlib.contextmanager
def chromium(extra_args: list[str] | tuple[str, ...] = ()) -> Iterator:
    """A headless Debian Chromium driven by Playwright (never a downloaded browser), with `extra_args` added to
    CHROMIUM_ARGS (e.g. --disable-3d-apis for a browser without WebGL). Inside another chromium(), the browser comes
    from the same Playwright: a second one cannot start while the first runs."""
    from playwright.sync_api import sync_playwright

    args = [*CHROMIUM_ARGS, *extra_args]
    running = getattr(chromium, "playwright", None)
    with contextlib.nullcontext(running) if running else sync_playwright() as playwright:
        chromium.playwright = playwright
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield browser
        finally:
            browser.close()
            chromium.playwright = running
