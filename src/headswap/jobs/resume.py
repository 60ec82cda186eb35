"""Resuming a killed run: only under the settings that trained it, and into a run folder of its own.

A checkpoint carries the settings that shaped its training (``SettingsInCheckpoint``). A resume under
other settings would continue a different experiment from the wrong weights, so it is refused, naming
the keys that differ. A resume that is accepted copies the checkpoints it continues from into the new
run's folder: Lightning then restores the best score so far and keeps selecting the same best epoch as
an uninterrupted run, and every checkpoint it replaces or deletes later is one of this run's copies,
never the killed run's own files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from headswap.io import atomic_write, check_state_dict, safe_load
from headswap.lit import HeadSwapClassifier, TextDataModule
from headswap.lit.callbacks import SettingsInCheckpoint

# Keys that do not change what training computes: where files go, what is printed or logged, the
# evaluation after training, the number of threads, and max_epochs (a resume may extend a run).
NOT_TRAINING = (
    "task_name",
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
    flat = _flatten(OmegaConf.to_container(cfg, resolve=True))
    settings = {k: v for k, v in flat.items() if not k.startswith(NOT_TRAINING)}
    settings["data.fingerprint"] = datamodule.source.fingerprint()
    return settings


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, dict) or not node:
        return {prefix.rstrip("."): node}
    return {k: v for key, value in node.items() for k, v in _flatten(value, f"{prefix}{key}.").items()}


def resume_checkpoint(
    ckpt_path: str | None, settings: dict[str, Any], model: HeadSwapClassifier, callbacks: list[Any]
) -> str | None:
    """Check a checkpoint to resume from before training starts; return the copy to resume from."""
    if ckpt_path is None:
        return None
    checkpoint = safe_load(ckpt_path)
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "epoch" not in checkpoint:
        raise ValueError(
            f"checkpoint {ckpt_path} is not a Lightning training checkpoint: pass a run's last.ckpt"
        )
    check_state_dict(model.state_dict(), checkpoint["state_dict"], ckpt_path)
    check_same_settings(ckpt_path, checkpoint.get(SettingsInCheckpoint.KEY), settings)
    return continue_in_own_folder(ckpt_path, checkpoint, callbacks)


def check_same_settings(ckpt_path: str, saved: dict[str, Any] | None, settings: dict[str, Any]) -> None:
    """Refuse a resume whose settings differ from the checkpoint's in anything that changes training."""
    if saved is None:
        raise ValueError(
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
        raise ValueError(
            f"checkpoint {ckpt_path} was trained with other settings: {shown}{more}; resume with the "
            "checkpoint's values, or drop ckpt_path to start a new run"
        )


def continue_in_own_folder(ckpt_path: str, checkpoint: dict[str, Any], callbacks: list[Any]) -> str:
    """Copy the checkpoints a resume continues from into this run's checkpoint folder, their recorded
    paths pointed there, and return the copy of ``ckpt_path`` to resume from."""
    source = Path(ckpt_path).resolve().parent
    savers = [c for c in callbacks if isinstance(c, ModelCheckpoint) and c.dirpath]
    if not savers or Path(savers[0].dirpath).resolve() == source:
        return str(ckpt_path)  # resuming in its own folder (hydra.run.dir set to the killed run's)
    for saver in savers:
        state = checkpoint.get("callbacks", {}).get(saver.state_key)
        if state is not None:
            _point_to(state, source, Path(saver.dirpath))
    resumed = Path(savers[0].dirpath) / Path(ckpt_path).name
    atomic_write(resumed, lambda f: torch.save(checkpoint, f))
    return str(resumed)


def _point_to(state: dict[str, Any], source: Path, target: Path) -> None:
    """A ModelCheckpoint's saved state, with every checkpoint it names copied from ``source`` to ``target``
    (``last.ckpt`` itself is written by ``continue_in_own_folder``)."""

    def moved(path: str, copy: bool = True) -> str:
        if not path:
            return path
        original, moved_to = source / Path(path).name, target / Path(path).name
        if copy and original.is_file() and not moved_to.exists():
            with original.open("rb") as f_in:
                atomic_write(moved_to, lambda f_out: shutil.copyfileobj(f_in, f_out))
        return str(moved_to)

    state["dirpath"] = str(target)
    state["best_k_models"] = {moved(p): score for p, score in state.get("best_k_models", {}).items()}
    for key in ("best_model_path", "kth_best_model_path"):
        if key in state:
            state[key] = moved(state[key])
    if "last_model_path" in state:
        state["last_model_path"] = moved(state["last_model_path"], copy=False)
