"""python scripts/train.py regime=head -- returns validation F1 for Hydra sweepers to optimise."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import train


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return train.run(cfg)["best_val"]["f1"]


if __name__ == "__main__":
    main()
