"""Resuming a killed run: only under the settings that trained it, and into a run folder of its own.

A checkpoint carries the settings that shaped its training (``SettingsInCheckpoint``). A resume under
other settings would continue a different experiment from the wrong weights, so it is refused, naming
the keys that differ. A resume that is accepted copies the checkpoints it continues from into the new
run's folder: Lightning then restores the best score so far and keeps selecting the same best epoch as
an uninterrupted run, and every checkpoint it replaces or deletes later is one of this run's copies,
never the killed run's own files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from headswap.errors import ConfigError, DataError
from headswap.io import atomic_write, check_state_dict, safe_load
from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import SettingsInCheckpoint

# Keys that do not change what training computes: where files go, what is printed or logged, the
# evaluation after training, the number of threads, and max_epochs (a resume may extend a run, unless
# the learning-rate schedule is sized by it: see ``training_settings``).
NOT_TRAINING = (
    "task_name",
    "recipe",  # a name; the values it sets are compared themselves
    "threads",
    "ckpt_path",
    "paths.",
    "logger.",
    "evaluation.",
    "data.path",  # where the file lies; its contents count (data.fingerprint)
    "trainer.max_epochs",
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
    "callbacks.model_checkpoint.dirpath",
    "callbacks.cost_monitor.",
    "callbacks.interrupt_report.",
    "callbacks.lr_monitor.",
)


def training_settings(cfg: DictConfig, datamodule: TextDataModule) -> dict[str, Any]:
    """The composed config as dotted keys, less ``NOT_TRAINING``, plus the data's fingerprint."""
    settings = {k: v for k, v in _flatten(cfg).items() if not k.startswith(NOT_TRAINING)}
    settings["data.fingerprint"] = datamodule.source.fingerprint()
    if OmegaConf.select(cfg, "schedule._target_") != "headswap.model.schedules.constant":
        # a decaying schedule spreads over every step of max_epochs: another count, another curve
        settings["trainer.max_epochs"] = cfg.trainer.max_epochs
    return settings


def _flatten(node: DictConfig, prefix: str = "") -> dict[str, Any]:
    """Leaves as dotted keys; an interpolation (``model.regime: ${regime}``) is left out, since the key
    it refers to is compared itself."""
    flat: dict[str, Any] = {}
    for key in node:
        if OmegaConf.is_interpolation(node, key):
            continue
        value = node[key]
        if isinstance(value, DictConfig) and len(value):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
    return flat


def checked_resume(ckpt_path: str | None, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint to resume from, refused before any body is pre-trained or loaded if it is not a
    training checkpoint or was trained under other settings (another body among them)."""
    if ckpt_path is None:
        return None
    checkpoint = safe_load(ckpt_path)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "epoch" not in checkpoint:
        raise DataError(
            f"checkpoint {ckpt_path} is not a Lightning training checkpoint: pass a run's last.ckpt"
        )
    check_same_settings(ckpt_path, checkpoint.get(SettingsInCheckpoint.KEY), settings)
    return checkpoint


def resume_checkpoint(
    ckpt_path: str | None, checkpoint: dict[str, Any] | None, model: HeadSwapClassifier, callbacks: list[Any]
) -> str | None:
    """``checked_resume``'s checkpoint, checked against the built model; the copy to resume from."""
    if ckpt_path is None or checkpoint is None:
        return None
    check_state_dict(model.state_dict(), checkpoint["state_dict"], ckpt_path)
    return continue_in_own_folder(ckpt_path, checkpoint, callbacks)


def check_same_settings(ckpt_path: str, saved: dict[str, Any] | None, settings: dict[str, Any]) -> None:
    """Refuse a resume whose settings differ from the checkpoint's in anything that changes training."""
    if saved is None:
        raise ConfigError(
            f"checkpoint {ckpt_path} does not record the settings it was trained with (it predates "
            "this check), so resuming it could mix two configs: start a new run without ckpt_path"
        )
    absent = "<absent>"
    differ = sorted(
        k for k in saved.keys() | settings.keys() if saved.get(k, absent) != settings.get(k, absent)
    )
    if differ:
        shown = ", ".join(f"{k}={saved.get(k, absent)} (now {settings.get(k, absent)})" for k in differ[:5])
        more = f" and {len(differ) - 5} more" if len(differ) > 5 else ""
        raise ConfigError(
            f"checkpoint {ckpt_path} was trained with other settings: {shown}{more}; resume with the "
            "checkpoint's values, or drop ckpt_path to start a new run"
        )


def continue_in_own_folder(ckpt_path: str, checkpoint: dict[str, Any], callbacks: list[Any]) -> str:
    """Copy the checkpoints a resume continues from (it and the best so far) into this run's checkpoint
    folder, their recorded paths pointed there, and return the copy of ``ckpt_path`` to resume from."""
    source = Path(ckpt_path).resolve().parent
    savers = {c.state_key: Path(c.dirpath) for c in callbacks if isinstance(c, ModelCheckpoint) and c.dirpath}
    if not savers or next(iter(savers.values())).resolve() == source:
        return str(ckpt_path)  # resuming in its own folder (hydra.run.dir set to the killed run's)
    copies: dict[Path, dict[str, Any]] = {}
    for key, target in savers.items():
        for name in _checkpoint_names(checkpoint.get("callbacks", {}).get(key) or {}):
            if (source / name).is_file():
                copies.setdefault(target / name, safe_load(source / name))
    resumed = next(iter(savers.values())) / Path(ckpt_path).name
    copies[resumed] = checkpoint
    for path, copy in copies.items():
        _point_states(copy, savers)
        atomic_write(path, lambda f, copy=copy: torch.save(copy, f))
    return str(resumed)


def _checkpoint_names(state: dict[str, Any]) -> set[str]:
    """The files a ModelCheckpoint's saved state may load or replace later (``last.ckpt`` aside)."""
    paths = [*state.get("best_k_models", {}), state.get("best_model_path"), state.get("kth_best_model_path")]
    return {Path(p).name for p in paths if p}


def _point_states(checkpoint: dict[str, Any], savers: dict[str, Path]) -> None:
    """Every ModelCheckpoint state in ``checkpoint`` as if it had been saved in its saver's folder."""
    for key, target in savers.items():
        state = checkpoint.get("callbacks", {}).get(key)
        if state is None:
            continue

        def moved(path: str | None, target: Path = target) -> str | None:
            return str(target / Path(path).name) if path else path

        state["dirpath"] = str(target)
        state["best_k_models"] = {moved(p): score for p, score in state.get("best_k_models", {}).items()}
        for name in ("best_model_path", "kth_best_model_path", "last_model_path"):
            if name in state:
                state[name] = moved(state[name])
