"""reviewlens viewer: `streamlit run viewer` (add `-- --db path/to/reviewlens.duckdb` to open another file)."""

import streamlit as st

from viewer.database import check_database
from viewer.pages import PAGES
from viewer.session import build_facts, database_path, open_upload, require_database

st.set_page_config(page_title="reviewlens", layout="wide")
page = st.navigation([st.Page(each.file, title=each.title, default=each is PAGES[0]) for each in PAGES])

problem = check_database(database_path())
with st.sidebar.expander("Database", expanded=problem is not None):
    upload = st.file_uploader("Open a reviewlens file", key="upload", help="It stays open in this browser tab only.")
    if upload is None:
        st.session_state["uploaded_database"] = None
    elif upload_problem := open_upload(upload):
        st.error(upload_problem)

require_database()
name = upload.name if st.session_state["uploaded_database"] else database_path().name
st.sidebar.caption(f"{name} · built {build_facts()['built_at']}")
page.run()
