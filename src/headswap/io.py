"""Files written whole or not at all, and body checkpoints loaded without running pickled code."""

from __future__ import annotations

import io
import json
import os
import pickle
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from headswap.errors import DataError, MissingFile

ZIP_MAGIC = b"PK"  # torch.save's format since torch 1.6
PICKLE_MAGIC = b"\x80\x02"  # the legacy format (pickle protocol 2)


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write through a temporary file in the same folder, then rename: readers see the old or the new file.

    The temporary file is created with mode 0666 less the process's umask, like any other file (``mkstemp``
    would make it 0600, so a shared cache or results folder could not be read by colleagues); ``O_EXCL``
    and a random name keep it from ever replacing someone else's file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    data = (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode()
    return atomic_write(path, lambda f: f.write(data))


def write_png(figure: Any, path: str | Path) -> Path:
    """A matplotlib figure as a PNG, written whole or not at all (the caller closes the figure)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


def save_state_dict(module: nn.Module, path: str | Path) -> Path:
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    return atomic_write(path, lambda f: torch.save(state, f))


def safe_load(path: str | Path) -> Any:
    """``torch.load`` of tensors and plain containers only: a file's pickled code never runs.

    Any failure ends in one line naming the file and what it is: not a checkpoint at all (text, a CSV,
    a run's metrics.json), a damaged or truncated one, or one holding pickled objects. Never advises
    deleting it: the file may be a user's own.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFile(f"checkpoint {path} does not exist: check the path")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] not in (ZIP_MAGIC, PICKLE_MAGIC):
        raise DataError(
            f"{path} is not a checkpoint (torch.save writes a zip archive; this file is not one): "
            "pass a .ckpt or .pt file that training wrote"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" in str(e):  # a class or function the file would have imported and run
            raise DataError(
                f"checkpoint {path} holds pickled objects other than tensors and plain containers: "
                "refused, a file's code is never run; load only checkpoints that headswap wrote"
            ) from None
        raise DataError(damaged(path, e)) from None
    except Exception as e:  # a damaged archive fails in many ways: KeyError, IndexError, OSError, ...
        raise DataError(damaged(path, e)) from None


def damaged(path: Path, e: BaseException) -> str:
    return (
        f"checkpoint {path} is truncated or damaged ({type(e).__name__}): it cannot be read; "
        "use another copy, or train again"
    )


def load_state_dict(module: nn.Module, path: str | Path) -> None:
    """Load a plain state dict into ``module``, failing in one line that names the problem and the fix."""
    state = safe_load(path)
    if not isinstance(state, dict):
        raise DataError(f"checkpoint {path} holds a {type(state).__name__}, not a state dict: re-create it")
    check_state_dict(module.state_dict(), state, path)
    module.load_state_dict(state)


def check_state_dict(own: dict[str, torch.Tensor], state: dict[str, Any], path: str | Path) -> None:
    """Raise one line naming the first mismatch between a model's state dict and a checkpoint's."""
    missing, unexpected = sorted(own.keys() - state.keys()), sorted(state.keys() - own.keys())
    if missing or unexpected:
        raise DataError(
            f"checkpoint {path} does not fit this model: missing {missing[:3]}, unexpected {unexpected[:3]}; "
            "it was saved from another architecture"
        )
    for key, value in own.items():
        if state[key].shape != value.shape:
            raise DataError(
                f"checkpoint {path} does not fit this model: tensor {key!r} has shape "
                f"{tuple(state[key].shape)} in the file but {tuple(value.shape)} here; "
                "it was saved from another body config"
            )
