"""python scripts/pretrain.py [force=true] -- pre-train the body that scripts/train.py starts from."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import (
    pretrain,
    schema,  # noqa: F401  (registers the structured configs)
)
from headswap.jobs.errors import run_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="pretrain")
def main(cfg: DictConfig) -> None:
    run_job(pretrain.run, cfg)


if __name__ == "__main__":
    main()
