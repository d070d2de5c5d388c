"""A WebGL scatter plot for Streamlit: regl-scatterplot (vendored in regl-scatterplot.min.js, rebuilt by build.sh)
mounted as a custom component v2, with hover tooltips, click to open a point and a lasso (shift + drag) selection.

`scatter_map` mounts it in a Streamlit script; `standalone_page` writes the same plot as a bare HTML page."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# The bundle defines `reglScatterplot`; the glue after it is the module's default export. Read once per process.
BUNDLE = (HERE / "regl-scatterplot.min.js").read_text(encoding="utf-8")
JS = BUNDLE + "\n" + (HERE / "scatter.js").read_text(encoding="utf-8")
CSS = (HERE / "scatter.css").read_text(encoding="utf-8")
NAME = "reviewlens_scatter_map"

# A tooltip entry: a column, or (column, title).
Tooltip = str | tuple[str, str]


@dataclass(frozen=True)
class ScatterResult:
    opened: int | None = None  # the text_id of the point just clicked, for one run
    selected: list[int] = field(default_factory=list)  # the text_ids inside the latest lasso; [] when none
    webgl: bool | None = None  # False once the browser has said it cannot draw WebGL


@functools.cache
def _component() -> Any:
    """Registered once per process; Streamlit re-registers it on a new runtime by itself."""
    import streamlit.components.v2 as components

    # Not style-isolated: regl-scatterplot finds the canvas under the mouse with document.elementsFromPoint, which
    # does not see into a shadow root. The CSS classes are prefixed instead.
    return components.component(NAME, js=JS, css=CSS, isolate_styles=False)


def _columns(tooltip: Sequence[Tooltip]) -> list[tuple[str, str]]:
    return [(t, t) if isinstance(t, str) else (t[0], t[1]) for t in tooltip]


def _points(points: pd.DataFrame, color: str, size: str | None, tooltip: Sequence[Tooltip]) -> pd.DataFrame:
    """Only the columns the browser needs, as float32 / int32 where numeric."""
    out = {
        "x": points["x"].to_numpy(np.float32, na_value=np.nan),
        "y": points["y"].to_numpy(np.float32, na_value=np.nan),
        "text_id": points["text_id"].to_numpy(np.int32),
        "__color": points[color].to_numpy(np.int32),
    }
    if size is not None:
        values = points[size].to_numpy(np.float64, na_value=np.nan)
        low, high = (np.nanmin(values), np.nanmax(values)) if np.isfinite(values).any() else (0.0, 0.0)
        scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
        out["__size"] = np.nan_to_num(scaled, nan=0.0).astype(np.float32)
    for column, _ in _columns(tooltip):
        if column in out:
            continue
        values = points[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("string")
        elif pd.api.types.is_integer_dtype(values) and not values.isna().any():
            out[column] = values.to_numpy(np.int32)
        elif pd.api.types.is_numeric_dtype(values):
            out[column] = values.to_numpy(np.float32, na_value=np.nan)
        else:
            out[column] = values.astype("string")
    return pd.DataFrame(out)


def _digest(frame: pd.DataFrame) -> str:
    """Changes with the points, so that the browser redraws only when they change."""
    digest = hashlib.blake2b(digest_size=16)
    for name, values in frame.items():
        digest.update(name.encode())
        if isinstance(values.dtype, np.dtype):
            digest.update(np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _data(
    points: pd.DataFrame, color: str, palette: Sequence[str], legend: Sequence[str], size: str | None,
    tooltip: Sequence[Tooltip], height: int, highlight: int | None,
) -> dict[str, Any]:  # fmt: skip
    if len(legend) > len(palette):
        raise ValueError(f"{len(legend)} legend entries but only {len(palette)} colours")
    frame = _points(points, color, size, tooltip)
    return {
        "points": frame,
        "digest": _digest(frame),
        "palette": list(palette),
        "legend": list(legend),
        "highlight": None if highlight is None else int(highlight),
        "size": size is not None,
        "tooltip": [c for c, _ in _columns(tooltip)],
        "titles": [t for _, t in _columns(tooltip)],
        "height": int(height),
    }


def _ignore() -> None:
    """A callback, so that the result always holds the component's keys."""


def scatter_map(
    points: pd.DataFrame, *, color: str, palette: Sequence[str], legend: Sequence[str], size: str | None = None,
    tooltip: Sequence[Tooltip] = (), key: str, height: int = 650, highlight: int | None = None,
) -> ScatterResult:  # fmt: skip
    """Draw `points` (columns x, y, text_id, `color` as category codes 0..k-1 into `palette` and `legend`,
    optionally `size`, where larger is a bigger dot, and the `tooltip` columns shown on hover) with WebGL.

    With `highlight`, only that category keeps its colour and the rest turns grey. Clicking a point opens it
    (`opened`, for one run); shift + drag draws a lasso (`selected`); a double click or Escape clears it."""
    result = _component()(
        key=key,
        data=_data(points, color, palette, legend, size, tooltip, height, highlight),
        default={"selected": [], "webgl": None},
        height="content",
        on_opened_change=_ignore,
        on_selected_change=_ignore,
        on_webgl_change=_ignore,
    )
    opened = result.get("opened")
    return ScatterResult(
        opened=None if opened is None else int(opened),
        selected=[int(i) for i in result.get("selected") or []],
        webgl=result.get("webgl"),
    )


def _script_json(value: Any) -> str:
    """JSON that can sit inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


def standalone_page(
    points: pd.DataFrame, *, color: str, palette: Sequence[str], legend: Sequence[str], size: str | None = None,
    tooltip: Sequence[Tooltip] = (), height: int = 650, highlight: int | None = None, title: str = "scatter map",
) -> str:  # fmt: skip
    """A bare HTML page (no Streamlit, no network) that draws the same plot with the same bundle and glue; its
    state lands in `window.scatterState`. Numeric columns travel as base64 float32 / int32 arrays."""
    data = _data(points, color, palette, legend, size, tooltip, height, highlight)
    columns = {}
    for name, values in data.pop("points").items():
        if values.dtype in (np.float32, np.int32):
            columns[name] = {"dtype": str(values.dtype), "b64": base64.b64encode(values.to_numpy().tobytes()).decode()}
        else:
            columns[name] = values.astype(object).where(values.notna(), None).tolist()
    escaped_title = title.replace("&", "&amp;").replace("<", "&lt;")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{escaped_title}</title>
<style>body {{ margin: 0; padding: 1rem; font-family: sans-serif; background: #ffffff; }}
{CSS}</style></head>
<body><div id="root"></div>
<script type="module">
const JS = {_script_json(JS)};
const DATA = {_script_json(data)};
const COLUMNS = {_script_json(columns)};
const decode = async (column) => {{
  if (!column.b64) return column;
  const bytes = Uint8Array.fromBase64
    ? Uint8Array.fromBase64(column.b64).buffer
    : await (await fetch(`data:application/octet-stream;base64,${{column.b64}}`)).arrayBuffer();
  return column.dtype === 'int32' ? new Int32Array(bytes) : new Float32Array(bytes);
}};
const points = {{}};
for (const [name, column] of Object.entries(COLUMNS)) points[name] = await decode(column);
const {{ default: mount }} = await import(URL.createObjectURL(new Blob([JS], {{ type: 'text/javascript' }})));
window.scatterState = {{}};
const set = (name, value) => {{ window.scatterState[name] = value; }};
mount({{ data: {{ ...DATA, points }}, parentElement: document.getElementById('root'), setStateValue: set,
  setTriggerValue: set }});
</script></body></html>
"""
