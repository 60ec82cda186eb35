"""The Hydra edge: one ``run(cfg)`` per job, called by the thin scripts in ``scripts/``."""
