"""A Streamlit app for tests/viewer/test_scatter.py: `scatter_map` on synthetic points, and what it returned written
out as text. `streamlit run tests/scatter_app.py -- [number of points]`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from bench.serve import streamlit_app

PALETTE = ["#1f77b4", "#ff7f0e"]
LEGEND = ["left blob", "right blob"]
# One point apart from both blobs, at the top middle of the map; its label must show as text.
LONE_ID = 7
LONE_LABEL = "<b>x</b>"


def make_points(n: int = 301, seed: int = 0) -> pd.DataFrame:
    """Two well separated blobs (category 0 left, 1 right) and one lone point above them between."""
    rng = np.random.default_rng(seed)
    half = (n - 1) // 2
    category = np.repeat([0, 1], [half, n - 1 - half])
    x = np.where(category == 0, -5.0, 5.0) + rng.normal(0, 0.6, n - 1)
    y = rng.normal(0, 0.6, n - 1)
    points = pd.DataFrame({
        "x": np.append(x, 0.0),
        "y": np.append(y, 4.0),
        "text_id": np.append(np.arange(1000, 1000 + n - 1), LONE_ID),
        "category": np.append(category, 0),
        "loss": np.append(rng.gamma(2.0, 0.3, n - 1), 1.0),
        "label": np.append(np.where(category == 0, "negative", "positive"), LONE_LABEL),
    })  # fmt: skip
    return points


@contextlib.contextmanager
def serve(n: int = 301) -> Iterator[str]:
    """`streamlit run` this app on `n` points; yields its URL once it answers its health check."""
    with streamlit_app(Path(__file__).resolve(), [str(n)]) as url:
        yield url


if __name__ == "__main__":
    import streamlit as st

    from viewer.scatter import scatter_map

    st.set_page_config(page_title="scatter test", layout="wide")
    points = make_points(int(sys.argv[1]) if len(sys.argv) > 1 else 301)
    result = scatter_map(
        points, color="category", palette=PALETTE, legend=LEGEND, size="loss",
        tooltip=["text_id", "label", "loss"], key="map", height=500,
    )  # fmt: skip
    if result.opened is not None:
        st.session_state["opened"] = result.opened
    st.text(f"opened: {st.session_state.get('opened')}")
    st.text(f"selected: {len(result.selected)}")
    st.text(f"selected ids: {','.join(map(str, sorted(result.selected)))}")
    st.text(f"webgl: {result.webgl}")
