"""python scripts/pretrain.py [force=true] -- pre-train the body that scripts/train.py starts from."""

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.jobs import pretrain

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="pretrain")
def main(cfg: DictConfig) -> None:
    run_job(pretrain.run, cfg)


if __name__ == "__main__":
    main()
