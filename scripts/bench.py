"""python scripts/bench.py -- Lightning against a plain loop, regimes' costs, whole commands: BENCHMARKS.md.

The benchmarks live beside scripts/, outside the package: the checkout's root goes on the path first."""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import bench

from headswap.app import schema
from headswap.app.launch import run_job

schema.register()  # the config schemas and resolvers, before @hydra.main composes the config


@hydra.main(version_base="1.3", config_path="../conf", config_name="bench")
def main(cfg: DictConfig) -> None:
    run_job(bench.run, cfg)


if __name__ == "__main__":
    main()
