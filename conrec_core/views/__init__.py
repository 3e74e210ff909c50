"""The tables and figures the app's pages show, computed from a workspace; nothing here imports streamlit."""
