"""python scripts/baseline.py [data=...] -- classic TF-IDF baselines on the split that training uses."""

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.jobs import baseline

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="baseline")
def main(cfg: DictConfig) -> None:
    run_job(baseline.run, cfg)


if __name__ == "__main__":
    main()
