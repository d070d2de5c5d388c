"""reviewlens viewer: a Streamlit app that only reads the database the pipeline built."""
