"""Serving a finished run over HTTP (LitServe), and a load client to measure it."""
