"""The sample datasets the app opens on, and the pipeline outputs shipped with them."""
