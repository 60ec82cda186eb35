"""A finished run that travels: what predict and serve need, in one folder or one ``.tar.gz``.

A bundle is a run folder cut down to what loading reads: ``.hydra/config.yaml``, ``metrics.json``, the
best checkpoint's classifier weights (no optimizer state) at the path the record names, a pretrained
body's own files under ``body/`` (its config, tokenizer and weights: the training machine's model folder
is not on the next one), and ``export/`` when the run was exported. No logs, no test outputs. It loads as
any run folder does, with the same checks: ``finished_run`` reads ``body/`` in place of ``body.path``.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path

import torch

from headswap.errors import DataError
from headswap.io import atomic_write
from headswap.model.hf_body import model_dir
from headswap.run_record import FILE_NAME
from headswap.training.finished_run import (
    BODY_IN_BUNDLE,
    BUNDLE_SUFFIXES,
    PREFIX,
    load_finished_run,
    resolved,
)


def write_bundle(run_dir: str | Path, out: str | Path) -> Path:
    """The bundle of the run in ``run_dir``, as the folder ``out`` or, for a ``.tar.gz`` name, that one
    file; written whole (in a temporary folder, then moved or packed) or not at all."""
    run, out = load_finished_run(run_dir), Path(out)
    if out.exists():
        raise DataError(f"{out} exists already: pass a new name for the bundle (nothing was written)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".bundle-") as tmp:
        folder = Path(tmp) / "bundle"
        (folder / ".hydra").mkdir(parents=True)
        shutil.copy2(run.dir / ".hydra" / "config.yaml", folder / ".hydra" / "config.yaml")
        shutil.copy2(run.dir / FILE_NAME, folder / FILE_NAME)
        weights = {PREFIX + k: v for k, v in run.classifier.state_dict().items()}
        checkpoint = folder / run.checkpoint.relative_to(run.dir)
        checkpoint.parent.mkdir(parents=True)
        atomic_write(checkpoint, lambda f: torch.save({"state_dict": weights}, f))
        if run.cfg.body.get("path"):
            shutil.copytree(model_dir(resolved(run.cfg, "body.path")), folder / BODY_IN_BUNDLE)
        if (run.dir / "export").is_dir():
            shutil.copytree(run.dir / "export", folder / "export")
        if out.name.endswith(BUNDLE_SUFFIXES):
            with tarfile.open(folder.with_suffix(".tar.gz"), "w:gz") as tar:
                tar.add(folder, arcname=".")
            folder.with_suffix(".tar.gz").rename(out)
        else:
            folder.rename(out)
    return out
