"""python scripts/bench.py -- Lightning against a plain loop, regimes' costs, whole commands."""

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.jobs import bench

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="bench")
def main(cfg: DictConfig) -> None:
    run_job(bench.run, cfg)


if __name__ == "__main__":
    main()
