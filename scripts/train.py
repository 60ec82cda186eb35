"""python scripts/train.py regime=head -- returns validation F1 for Hydra sweepers to optimise."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import (
    schema,  # noqa: F401  (registers the structured configs)
    train,
)
from headswap.jobs.errors import run_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return run_job(lambda c: train.run(c)["best_val"]["f1"], cfg)


if __name__ == "__main__":
    main()
