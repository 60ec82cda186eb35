"""python scripts/bench.py -- Lightning against a plain loop, regimes' costs, whole commands."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import (
    bench,
    schema,  # noqa: F401  (registers the structured configs)
)
from headswap.jobs.errors import run_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="bench")
def main(cfg: DictConfig) -> None:
    run_job(bench.run, cfg)


if __name__ == "__main__":
    main()
