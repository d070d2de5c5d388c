"""Population: every text placed by t-SNE in a model's latent space, drawn with WebGL."""

import streamlit as st

from viewer import charts
from viewer.filters import categories, labels, noun, population_filters, show_texts
from viewer.pages import TEXT_PAGE
from viewer.scatter import scatter_map
from viewer.session import run_query

LISTED = 200  # texts listed from a selection, highest loss first

st.title("Population")
st.caption(
    f"Where does the model put each text? Dots close together look alike to the model; large dots are the "
    f"{noun()} it fails on. Click a dot to open that text, or hold Shift and drag a lasso to list the {noun()} "
    "inside. Scroll to zoom, drag to pan, double-click to clear the lasso."
)

filters = population_filters()
category_titles = categories()
colors = charts.map_colors(category_titles)
left, right = st.columns(2)
color = left.selectbox("Colour by", list(colors), key="color")
size = right.selectbox("Size by", list(charts.MAP_SIZES), key="size")

points = run_query("population_map", **filters)
category = next((name for name, title in category_titles.items() if title == color), None)
if category:
    values = run_query("point_categories", model=filters["model"], category=category)
    points = points.merge(values.rename(columns={"value": "category"}), on="text_id", how="left")
if points.empty:
    st.info(f"No {noun()} match these filters: widen them in the sidebar.")
    st.stop()

codes, palette, legend = charts.map_palette(points[colors[color]], colors[color], labels())
points = points.assign(colour=codes)
with_text = len(points) <= charts.SNIPPETS_UP_TO
if with_text:
    points = points.merge(run_query("map_snippets", text_ids=None), on="text_id", how="left")
st.write(f"{len(points):,} {noun()} on the map.")
tooltip = [("text_id", "id"), "label", ("predicted_label", "prediction"), "loss", "cluster"]
drawn = scatter_map(
    points,
    color="colour",
    palette=palette,
    legend=legend,
    size=charts.MAP_SIZES[size],
    tooltip=tooltip + ([("snippet", "text")] if with_text else []),
    key="map",
)
opened, selected = drawn.opened, drawn.selected

if drawn.webgl is False:
    sample = charts.map_sample(points)
    if not with_text:
        snippets = run_query("map_snippets", text_ids=sample["text_id"].tolist())
        sample = sample.merge(snippets, on="text_id", how="left")
    st.warning(
        f"This browser cannot draw WebGL, so the map above stays empty. Below, a sample of {len(sample):,} of the "
        f"{len(points):,} {noun()}, drawn without it: click a dot to open it, drag a box to list the {noun()} inside."
    )
    event = st.altair_chart(
        charts.population_map(sample, palette, legend, size), on_select="rerun", key="sampled_map", width="stretch"
    )
    picked = event.selection.get("picked") or []
    opened = picked[0]["text_id"] if len(picked) == 1 and "text_id" in picked[0] else None
    box = event.selection.get("box") or {}
    if "x" in box and "y" in box:
        inside = sample["x"].between(*box["x"]) & sample["y"].between(*box["y"])
        selected = sample.loc[inside, "text_id"].tolist()

if opened is not None:
    st.switch_page(TEXT_PAGE.file, query_params={"id": str(opened)})

if selected:
    listed = run_query("map_selection", model=filters["model"], text_ids=selected, limit=LISTED)
    st.subheader(
        f"{len(selected):,} {noun()} selected"
        + (f" (the {LISTED} with the highest loss)" if len(selected) > LISTED else "")
    )
    show_texts(listed)
else:
    st.info(f"Hold Shift and drag a lasso on the map to list the {noun()} inside it.")
