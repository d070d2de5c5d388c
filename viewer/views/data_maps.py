"""Data maps: what each model did with each training text while it learned, and the labels likely to be wrong."""

import streamlit as st

from viewer import charts
from viewer.filters import noun, show_texts, table
from viewer.pages import TEXT_PAGE
from viewer.scatter import scatter_map
from viewer.session import run_query

LISTED = 200  # texts listed from a lasso or a region, least confident first

st.title("Data maps")
st.caption(
    "What did each model do with each training text while it learned? Up: the model gave the label a high "
    "probability on average over the epochs (confidence); right: it changed its mind a lot (variability). "
    f"{noun().capitalize()} a model never learns sit at the bottom left, and many of them are mislabelled. Click a "
    "dot to open it, or hold Shift and drag a lasso to list the dots inside."
)

models = run_query("data_map_models")
recorded = models[models["epochs"].notna()]
for row in models[models["epochs"].isna()].itertuples():
    st.caption(f"**{row.model}** has no training dynamics: {row.no_dynamics}.")
if recorded.empty:
    st.info(f"No model here has training dynamics: the {noun()}' label quality below comes from the baseline alone.")
else:
    left, right = st.columns(2)
    model = left.selectbox("Model", list(recorded["model"]), key="model")
    color = right.selectbox("Colour by", list(charts.DATA_MAP_COLORS), key="color")
    epochs = int(recorded.set_index("model").loc[model, "epochs"])
    points = run_query("data_map", model=model)
    codes, palette, legend = charts.data_map_palette(points, charts.DATA_MAP_COLORS[color])
    st.write(f"{len(points):,} training and validation {noun()}, {epochs} epochs.")
    drawn = scatter_map(
        points.assign(colour=codes),
        color="colour",
        palette=palette,
        legend=legend,
        tooltip=[
            ("text_id", "id"),
            "label",
            "region",
            "confidence",
            "variability",
            "forgetting",
            ("label_quality", "label quality"),
        ],  # fmt: skip
        key="data_map",
        height=550,
    )
    if drawn.webgl is False:
        st.warning(
            "This browser cannot draw WebGL, so the map above stays empty; the regions and the lists below hold the "
            "same texts."
        )
    if drawn.opened is not None:
        st.switch_page(TEXT_PAGE.file, query_params={"id": str(drawn.opened)})
    if drawn.selected:
        listed = run_query("data_map_texts", model=model, region=None, text_ids=drawn.selected, limit=LISTED)
        st.subheader(
            f"{len(drawn.selected):,} {noun()} selected"
            + (f" (the {LISTED} least confident)" if len(drawn.selected) > LISTED else "")
        )
        show_texts(listed)

    st.subheader("Regions")
    st.caption(
        "As in the data-maps paper (Swayamdipta et al., 2020): ambiguous, the most variable third; hard to learn, "
        "the least confident third, less the ambiguous; easy to learn, the others."
    )
    regions = run_query("data_map_regions", model=model)
    for column, row in zip(st.columns(len(regions)), regions.itertuples(), strict=True):
        column.metric(row.region, f"{row.texts:,}")
        column.caption(f"{row.likely_mislabelled:,} likely mislabelled")
    region = st.segmented_control("Region", list(regions["region"]), default="hard to learn", key="region")
    if region:
        texts = run_query("data_map_texts", model=model, region=region, text_ids=None, limit=LISTED)
        profile = run_query("region_profile", model=model)
        profile = profile[profile["region"] == region].drop(columns="region")
        lists, features = st.columns([1, 1])
        lists.markdown(f"**{region}**: the {min(LISTED, len(texts))} least confident")
        show_texts(texts, lists, height=420)
        features.markdown("**What sets them apart**: each feature's mean here and over the map")
        table(
            profile,
            features,
            height=420,
            column_config={
                "feature": "Feature",
                "mean": st.column_config.NumberColumn("Here", format="%.3g"),
                "overall": st.column_config.NumberColumn("All", format="%.3g"),
                "difference": st.column_config.NumberColumn("Difference (SD)", format="%+.2f"),
            },
        )

st.subheader("Likely mislabelled training texts")
st.caption(
    "Label quality: the probability of the given label from evidence no model memorised (two simple models "
    "cross-validated, and the models' early epochs); lowest first. Fix these labels and build again."
)
flagged = run_query("mislabelled_training", limit=LISTED)
if flagged.empty:
    st.info(f"No training {noun()} are flagged as likely mislabelled.")
else:
    show_texts(flagged)
