"""reviewlens viewer: `streamlit run viewer` (add `-- --db path/to/reviewlens.duckdb` to open another file)."""

from pathlib import Path

import streamlit as st

from viewer.db import require_database

VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="reviewlens", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / "overview.py", title="Overview", default=True),
        st.Page(VIEWS / "samples.py", title="Samples"),
        st.Page(VIEWS / "failures.py", title="Failures"),
        st.Page(VIEWS / "population.py", title="Population"),
        st.Page(VIEWS / "clusters.py", title="Clusters"),
        st.Page(VIEWS / "dashboard.py", title="Dashboard"),
        st.Page(VIEWS / "insights.py", title="Insights"),
    ]
)
require_database()
page.run()
