"""Population: every review placed by t-SNE in a model's latent space."""

import streamlit as st

from viewer import charts
from viewer.filters import REVIEW_COLUMNS, population_filters
from viewer.session import run_query

BOX_LIMIT = 200

st.title("Population")
st.caption(
    "Where does the model put each review? Dots close together look alike to the model; "
    "large dots are the reviews it fails on. Click a dot to open that review, or drag a box to list reviews."
)

filters = population_filters()
left, right = st.columns(2)
color = left.selectbox("Colour by", list(charts.MAP_COLORS), key="color")
size = right.selectbox("Size by", list(charts.MAP_SIZES), key="size")

points = run_query("population_map", **filters)
st.write(f"{len(points):,} reviews on the map.")
event = st.altair_chart(charts.population_map(points, color, size), on_select="rerun", key="map", width="stretch")

picked = event.selection.get("picked") or []
if len(picked) == 1 and "review_id" in picked[0]:
    st.switch_page("views/samples.py", query_params={"id": str(picked[0]["review_id"])})

box = event.selection.get("box") or {}
if "x" in box and "y" in box:
    (x_min, x_max), (y_min, y_max) = box["x"], box["y"]
    inside = run_query("map_box", **filters, x_min=x_min, x_max=x_max, y_min=y_min, y_max=y_max, limit=BOX_LIMIT)
    st.subheader(
        f"{len(inside):,} reviews in the box"
        + (f" (the {BOX_LIMIT} with the highest loss)" if len(inside) == BOX_LIMIT else "")
    )
    st.dataframe(inside, hide_index=True, column_config=REVIEW_COLUMNS)
else:
    st.info("Drag a box on the map to list the reviews inside it.")
