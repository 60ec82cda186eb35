"""The pre-training job: make (or reuse) the pretrained body that training runs start from."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from headswap.app.checks import check_config
from headswap.app.runtime import configure_runtime
from headswap.errors import ConfigError
from headswap.report import console as make_console
from headswap.report import titled_table
from headswap.training.bodies import figure, pretrained_body
from headswap.training.build import build_datamodule


def run(cfg: DictConfig) -> dict[str, Any]:
    configure_runtime(cfg)
    if not cfg.body.lm_pretraining:
        how = "arrives pretrained" if cfg.body.get("path") else "starts from random weights"
        raise ConfigError(
            f"body {cfg.body.name or cfg.body.path} {how} (body.lm_pretraining=false): there is "
            "no LM pre-training to run; train with scripts/train.py directly"
        )
    check_config(cfg)  # a bad setting ends in one line before any work
    datamodule = build_datamodule(cfg)
    _, info = pretrained_body(cfg, datamodule, force=bool(cfg.get("force", False)))
    title = "LM pre-training (next-token loss on the validation texts)"
    table = titled_table(title, ["", "loss", "perplexity"], "right")
    for when in ("before", "after"):
        loss, perplexity = info[f"val_loss_{when}"], info[f"val_perplexity_{when}"]
        table.add_row(when, figure(loss, 4), figure(perplexity, 2))
    console = make_console()
    console.print(table)
    console.print(f"{'loaded cached' if info['cached'] else 'wrote'} body: {info['path']}")
    return info
