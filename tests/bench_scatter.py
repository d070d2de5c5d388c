"""Time from page.goto to the scatter map's first frame (`data-drawn`) in headless Chromium (software WebGL here):
the bare page of viewer.scatter.standalone_page (the renderer's own limit) and tests/scatter_app.py in Streamlit.

    python -m tests.bench_scatter [--standalone 50000,1000000] [--app 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tests.scatter_app import serve
from viewer.scatter import standalone_page
from viewer.serve import chromium

VIEWPORT = {"width": 1400, "height": 1000}


def random_points(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(size=n), "y": rng.normal(size=n), "review_id": np.arange(n), "cluster": rng.integers(0, 8, n),
        "loss": rng.gamma(2.0, 0.3, n), "label": rng.choice(["negative", "positive"], n),
    })  # fmt: skip


def time_to_drawn(browser, url: str, n: int, timeout_s: float) -> float:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url, timeout=timeout_s * 1000)
        page.wait_for_selector(f'.rl-scatter[data-drawn="{n}"]', timeout=timeout_s * 1000)
        return time.perf_counter() - start
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--standalone", default="50000,1000000", help="numbers of points, comma separated")
    parser.add_argument("--app", default="50000", help="numbers of points, comma separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds")
    args = parser.parse_args()
    sizes = lambda text: [int(n) for n in text.split(",") if n]  # noqa: E731
    palette = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6"]
    results = []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        for n in sizes(args.standalone):
            html = standalone_page(
                random_points(n), color="cluster", palette=palette, legend=[f"cluster {i}" for i in range(8)],
                size="loss", tooltip=["review_id", "label", "loss", "cluster"],
            )  # fmt: skip
            path = Path(tmp) / f"scatter-{n}.html"
            path.write_text(html, encoding="utf-8")
            times = [time_to_drawn(browser, path.as_uri(), n, args.timeout) for _ in range(args.repeat)]
            results.append((f"standalone page, {n:,} points ({len(html) / 1e6:.1f} MB)", times))
            print(*results[-1], flush=True)
        for n in sizes(args.app):
            with serve(n, timeout=120) as url:
                times = [time_to_drawn(browser, url, n, args.timeout) for _ in range(args.repeat)]
            results.append((f"Streamlit app, {n:,} points", times))
            print(*results[-1], flush=True)
    print("\nseconds from page.goto to data-drawn (median, min..max):")
    for name, times in results:
        print(f"  {name}: {statistics.median(times):.2f} ({min(times):.2f}..{max(times):.2f})")


if __name__ == "__main__":
    main()
