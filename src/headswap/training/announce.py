"""What a run says before it starts: one line of the settings that matter, and the split it will use."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from headswap.lit import TextDataModule
from headswap.report import console, render_split


def settings_line(cfg: DictConfig, datamodule: TextDataModule) -> str:
    """``data=csv (comments.csv, 2,000 rows) max_len=160 body=tiny regime=gradual ...``: what the
    composed config means, whatever group or experiment set each value."""
    choices = HydraConfig.get().runtime.choices if HydraConfig.initialized() else {}
    path = getattr(datamodule.source, "path", None)
    where = f"{Path(path).name}, " if path else ""
    return " ".join(
        [
            f"data={choices.get('data', '?')} ({where}{datamodule.rows_read:,} rows)",
            *([f"recipe={cfg.recipe}"] if cfg.get("recipe") else []),
            f"max_len={datamodule.config.max_len}",
            f"body={cfg.body.get('name') or choices.get('body', '?')}",
            f"regime={cfg.regime.name}",
            f"pool={choices.get('pool', '?')}",
            f"schedule={choices.get('schedule', '?')}",
            f"epochs={cfg.pretrain.epochs} pre-training + {cfg.trainer.max_epochs} fine-tuning"
            if cfg.body.lm_pretraining
            else f"epochs={cfg.trainer.max_epochs} fine-tuning (no LM pre-training)",
            f"seed={cfg.seed}",
            f"precision={cfg.trainer.precision}",
            f"group_by_length={str(datamodule.config.group_by_length).lower()}",
            *([f"threads={cfg.threads_chosen}"] if cfg.get("threads_chosen") else []),
        ]
    )


def announce(cfg: DictConfig, datamodule: TextDataModule, title: str = "run") -> None:
    out = console()
    out.print(f"{title}: {settings_line(cfg, datamodule)}", markup=False, highlight=False, soft_wrap=True)
    out.print(render_split(datamodule.stats, datamodule.task))
    if warning := checkpoint_warning(cfg):
        out.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def checkpoint_warning(cfg: DictConfig) -> str | None:
    """What a run without the best-epoch checkpoint keeps, said before it trains, not after."""
    callbacks = (cfg.get("callbacks") or {}).values()
    if any(str(c.get("_target_", "")).endswith(".ModelCheckpoint") for c in callbacks if c is not None):
        return None
    if cfg.trainer.get("enable_checkpointing") is False:
        return (
            "no checkpoint will be kept (trainer.enable_checkpointing=false): predict, export and serve "
            "will have no weights to load"
        )
    return (
        "callbacks.model_checkpoint is off: Lightning keeps the last epoch's weights, so the test figures "
        "and predict, export and serve use the last epoch, not the best validation one"
    )
