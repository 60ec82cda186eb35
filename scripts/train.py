"""python scripts/train.py regime=head -- returns the monitored validation figure (F1; macro-F1 for more than
two classes) for Hydra sweepers to optimise."""

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.jobs import train
from headswap.run_record import selected_score

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return run_job(lambda c: selected_score(train.run(c)), cfg)


if __name__ == "__main__":
    main()
