"""``headswap <command> ...``: every job from one installed command, in any folder.

train, pretrain, demo, baseline and bench compose their config with Hydra from the configs shipped inside
the package (``headswap/conf``): runs go under the folder the command starts in (or ``$HEADSWAP_ROOT``),
and Hydra's own ``--config-dir DIR`` puts a user's groups (``DIR/regime/mine.yaml``, ...) beside the
shipped ones. compare, predict, export and serve take plain arguments. ``scripts/*.py`` call the same
functions from a checkout. Jobs are imported when run, so ``headswap --help`` answers at once.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from headswap.app import schema
from headswap.app.launch import run_job
from headswap.errors import MissingFile

schema.register()  # the config schemas and resolvers, before @hydra.main composes a config


def _job(module: str, config_name: str, result: Callable[[Any], Any] = lambda r: None) -> Callable[[], Any]:
    """The Hydra entry point of ``headswap.jobs.<module>.run`` (benchmarks: ``benchmarks.bench.run``)
    on ``conf/<config_name>.yaml``; ``result`` turns its return value into what a sweeper optimises."""

    @hydra.main(version_base="1.3", config_path="conf", config_name=config_name)
    def main(cfg: DictConfig) -> Any:
        return run_job(lambda c: result(_job_module(module).run(c)), cfg)

    return main


def _job_module(name: str) -> Any:
    if name != "bench":
        return importlib.import_module(f"headswap.jobs.{name}")
    if (Path.cwd() / "benchmarks" / "bench.py").is_file():  # a checkout: its benchmarks/ beside scripts/
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module("benchmarks.bench")
    except ModuleNotFoundError as e:
        if e.name not in ("benchmarks", "benchmarks.bench"):  # a dependency of the benchmarks: a bug
            raise
        raise MissingFile(
            "the benchmarks live in headswap's checkout, not the installed package: run headswap bench "
            "(or python scripts/bench.py) from the checkout's root"
        ) from None


def _selected_score(record: Any) -> float | None:
    from headswap.run_record import selected_score

    return selected_score(record)


train = _job("train", "train", _selected_score)  # returns the monitored figure, for Hydra's sweepers
pretrain = _job("pretrain", "pretrain")
demo = _job("demo", "demo")
baseline = _job("baseline", "baseline")
bench = _job("bench", "bench")

HYDRA_JOBS: dict[str, tuple[Callable[[], Any], str]] = {
    "train": (train, "train a classifier under a regime: headswap train regime=head"),
    "pretrain": (pretrain, "pre-train the tiny body on the training texts (cached)"),
    "demo": (demo, "the lesson: head-only against full fine-tuning on the built-in fixture"),
    "baseline": (baseline, "TF-IDF + logistic regression on the same split"),
    "bench": (bench, "measure speed and write BENCHMARKS.md (from a checkout)"),
}
PLAIN_JOBS = {
    "compare": "compare the runs of a sweep, validation-ranked and paired by seed",
    "predict": "classify texts with a finished run",
    "export": "write a finished run as ONNX (and int8), or a bundle for another machine",
    "serve": "serve a finished run over HTTP",
}


def usage() -> str:
    lines = ["usage: headswap <command> [options]", "", "commands:"]
    commands = {name: about for name, (_, about) in HYDRA_JOBS.items()} | PLAIN_JOBS
    lines += [f"  {name:<9} {about}" for name, about in commands.items()]
    lines += ["", "headswap <command> --help shows a command's options (Hydra's, with its config groups)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``headswap <command> ...``: the command's own exit code; 2 for a command that does not exist."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    sys.argv = [f"headswap {command}", *rest]  # what Hydra and argparse parse and name in their usage
    if command in PLAIN_JOBS:
        return importlib.import_module(f"headswap.jobs.{command}").main(rest)
    if command in HYDRA_JOBS:
        HYDRA_JOBS[command][0]()
        return 0
    print(f"error: {command!r} is not a headswap command: run headswap --help for the list", file=sys.stderr)
    return 2
