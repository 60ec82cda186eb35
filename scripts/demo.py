"""python scripts/demo.py -- pre-train once, fine-tune head-only and full, compare them."""

import hydra
from omegaconf import DictConfig

from headswap.jobs import schema  # noqa: F401  (registers the structured configs)
from headswap.jobs.demo import run_demo
from headswap.jobs.errors import run_job


@hydra.main(version_base="1.3", config_path="../conf", config_name="demo")
def main(cfg: DictConfig) -> None:
    run_job(run_demo, cfg)


if __name__ == "__main__":
    main()
