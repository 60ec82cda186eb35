"""python scripts/baseline.py [data=...] -- classic TF-IDF baselines on the split that training uses."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import (
    baseline,
    schema,  # noqa: F401  (registers the structured configs)
)
from headswap.jobs.errors import run_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="baseline")
def main(cfg: DictConfig) -> None:
    run_job(baseline.run, cfg)


if __name__ == "__main__":
    main()
