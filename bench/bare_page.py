"""A bare Streamlit page of one line of text: what `make bench` measures the viewer's pages against."""

import streamlit as st

st.write("A bare page.")
