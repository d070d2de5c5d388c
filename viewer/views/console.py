"""SQL console: any reading query on the open database, starting from the viewer's own named queries."""

import re

import pandas as pd
import streamlit as st

from viewer import charts
from viewer.database import QUERIES, ROW_CAP, TIME_LIMIT, Refused, file_version, run_sql
from viewer.filters import table
from viewer.session import database_path

# A value for every parameter of the named queries, so each starting point runs as it is.
EXAMPLES = {
    "base_model": "(select base_model from comparison_pairs order by rank limit 1)",
    "bins": "20",
    "category": "(select min(feature) from features where kind = 'category')",
    "category_value": "null",
    "cluster": "0",
    "clusters": "null",
    "cohort": "'neither'",
    "correct": "null",
    "direction": "'broken'",
    "feature": "'length_tokens'",
    "first": "(select model from models where compared order by rank limit 1)",
    "insight_id": "(select min(insight_id) from insights)",
    "k": "5",
    "label": "(select label from labels order by label_index desc limit 1)",
    "limit": "20",
    "loss_max": "100",
    "loss_min": "0",
    "model": "(select model from models where compared order by rank desc limit 1)",
    "notable": "0.5",
    "predicted_label": "null",
    "region": "'hard to learn'",
    "text_id": "(select text_id from predictions order by loss desc, text_id limit 1)",
    "text_ids": "(select list(text_id) from (select text_id from texts order by text_id limit 100))",
    "second": "(select model from models where compared order by rank limit 1 offset 1)",
    "slice": "1",
    "split": "null",
    "subset": "'test'",
    "test": "(select test from behaviour_tests where cases > 0 order by rank limit 1)",
    "top": "5",
}
FIRST_QUERY = "select model, subset, accuracy, loss\nfrom model_metrics\norder by model, subset"


def starting_point(name: str) -> str:
    """A named query with example values in place of its $parameters."""
    sql = (QUERIES / f"{name}.sql").read_text()
    return re.sub(r"\$([a-z_]+)", lambda match: EXAMPLES[match.group(1)], sql)


def load_starting_point() -> None:
    st.session_state["sql"] = starting_point(st.session_state["start"])


@st.cache_data(show_spinner=False, max_entries=64)
def outcome(sql: str, path: str, stamp: tuple) -> tuple[pd.DataFrame | None, bool, str | None]:
    """The result or the reason it was refused, cached so that changing the chart does not run it again."""
    try:
        frame, more = run_sql(path, sql)
    except Refused as refusal:
        return None, False, str(refusal)
    return frame, more, None


st.title("SQL console")
st.caption(
    f"Query the open database in DuckDB's SQL. Read-only: nothing outside the file can be reached. "
    f"Results stop at {ROW_CAP:,} rows and queries at {TIME_LIMIT:g} seconds."
)

st.selectbox(
    "Start from a query the viewer runs",
    sorted(path.stem for path in QUERIES.glob("*.sql")),
    index=None,
    key="start",
    on_change=load_starting_point,
    placeholder="choose one, or write your own below",
)
# The URL keeps the last query run, so that a result can be shared as a link.
if "sql" not in st.session_state:
    st.session_state["sql"] = st.query_params.get("sql", FIRST_QUERY)
    if "sql" in st.query_params:
        st.session_state["ran"] = st.query_params["sql"]
with st.form("console"):
    sql = st.text_area("SQL", key="sql", height=260)
    ran = st.form_submit_button("Run", type="primary")
if ran:
    st.session_state["ran"] = st.query_params["sql"] = sql
if "ran" not in st.session_state:
    st.stop()

path = database_path()
frame, more, problem = outcome(st.session_state["ran"], str(path), file_version(path))
if problem:
    st.error(problem)
    st.stop()

st.caption(f"First {ROW_CAP:,} rows." if more else f"{len(frame):,} rows.")
table(frame)

guess = charts.chart_fields(frame)
if guess:
    st.subheader("As a chart")
    columns = guess["columns"]
    left, middle, right = st.columns(3)
    x = left.selectbox("x", columns, index=columns.index(guess["x"]))
    y = middle.selectbox("y", columns, index=columns.index(guess["y"]))
    color = right.selectbox(
        "Colour", columns, index=columns.index(guess["color"]) if guess["color"] else None, placeholder="none"
    )
    st.altair_chart(charts.result_chart(frame, x, y, color), width="stretch")
