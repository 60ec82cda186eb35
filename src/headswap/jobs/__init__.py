"""The Hydra edge: one ``run(cfg)`` per job, called by the thin scripts in ``scripts/``."""

from headswap.jobs import job_dirs  # noqa: F401  (registers the resolvers that name run and job folders)
