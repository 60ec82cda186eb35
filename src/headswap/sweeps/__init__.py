"""Multiruns: their jobs read from disk (``multirun``), compared (``comparison``), drawn (``plots``), and the
Hydra callback that ends a multirun with the comparison (``callback``)."""
