"""python scripts/demo.py -- pre-train once, fine-tune head-only and full, compare them."""

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.jobs import demo

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="demo")
def main(cfg: DictConfig) -> None:
    run_job(demo.run, cfg)


if __name__ == "__main__":
    main()
