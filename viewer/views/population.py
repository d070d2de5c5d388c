"""Population: every text placed by t-SNE in a model's latent space."""

import streamlit as st

from viewer import charts
from viewer.filters import categories, labels, noun, population_filters, show_reviews
from viewer.session import run_query

BOX_LIMIT = 200

st.title("Population")
st.caption(
    f"Where does the model put each text? Dots close together look alike to the model; large dots are the "
    f"{noun()} it fails on. Click a dot to open that text, or drag a box to list the {noun()} inside."
)

filters = population_filters()
category_titles = categories()
colors = charts.map_colors(labels(), category_titles)
left, right = st.columns(2)
color = left.selectbox("Colour by", list(colors), key="color")
size = right.selectbox("Size by", list(charts.MAP_SIZES), key="size")

points = run_query("population_map", **filters)
category = next((name for name, title in category_titles.items() if title == color), None)
if category:
    values = run_query("point_categories", model=filters["model"], category=category)
    points = points.merge(values.rename(columns={"value": "category"}), on="review_id", how="left")
st.write(f"{len(points):,} {noun()} on the map.")
event = st.altair_chart(
    charts.population_map(points, color, colors, size), on_select="rerun", key="map", width="stretch"
)

picked = event.selection.get("picked") or []
if len(picked) == 1 and "review_id" in picked[0]:
    st.switch_page("views/samples.py", query_params={"id": str(picked[0]["review_id"])})

box = event.selection.get("box") or {}
if "x" in box and "y" in box:
    (x_min, x_max), (y_min, y_max) = box["x"], box["y"]
    inside = run_query("map_box", **filters, x_min=x_min, x_max=x_max, y_min=y_min, y_max=y_max, limit=BOX_LIMIT)
    st.subheader(
        f"{len(inside):,} {noun()} in the box"
        + (f" (the {BOX_LIMIT} with the highest loss)" if len(inside) == BOX_LIMIT else "")
    )
    show_reviews(inside)
else:
    st.info(f"Drag a box on the map to list the {noun()} inside it.")
