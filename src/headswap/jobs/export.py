"""Export a finished run for serving: an ONNX model of the best checkpoint and its tokenizer settings.

``model.onnx`` maps ``input_ids`` and ``attention_mask`` (int64, batch x tokens, both axes dynamic)
to ``probabilities`` (batch x 2, the positive class second). ``preprocessing.json`` says how texts
become those inputs; a pretrained body's tokenizer files go to ``tokenizer/`` beside it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import Tensor, nn

from headswap.app.launch import BAD_INPUT, fail_in_one_line, root_cause
from headswap.io import write_json
from headswap.model.tokenizer import ByteTokenizer
from headswap.training.finished_run import FinishedRun, load_finished_run

OPSET = 17
BYTE_ENCODING = (
    f"ids = [{ByteTokenizer.BOS} (bos, or {ByteTokenizer.CLS} with add_cls), *utf8_bytes(text), "
    f"{ByteTokenizer.EOS} (eos)][:max_len]; pad with {ByteTokenizer.PAD}; "
    "attention_mask 1 on tokens, 0 on padding"
)


class Probabilities(nn.Module):
    """The classifier's logits as class probabilities: what a server returns."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return self.classifier(input_ids, attention_mask).softmax(dim=-1)  # B x 2


def export(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write ``model.onnx``, ``preprocessing.json`` (and ``tokenizer/``) to ``out_dir`` (default
    ``RUN_DIR/export``); the model file is written whole or not at all. Returns the model's path."""
    run = load_finished_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.dir / "export"
    out.mkdir(parents=True, exist_ok=True)
    example = run.batch(["an example message", "a longer example message, to pad the first"])
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".model.onnx.", suffix=".tmp")
    os.close(fd)
    try:
        write_onnx(Probabilities(run.classifier).eval(), example, tmp)
        os.replace(tmp, out / "model.onnx")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_json(out / "preprocessing.json", preprocessing(run, out))
    return out / "model.onnx"


def write_onnx(module: nn.Module, example: dict[str, Tensor], path: str) -> None:
    """``module`` traced on ``example`` and written as ONNX, batch and token axes left dynamic."""
    with warnings.catch_warnings():
        # Known and checked (a test compares ONNX Runtime's outputs with the checkpoint's): tracing
        # fixes Python-level shape checks, the legacy exporter is chosen on purpose, indices are >= 0.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*aten::index operator of advanced indexing.*")
        torch.onnx.export(
            module,
            (example["input_ids"], example["attention_mask"]),
            path,
            input_names=["input_ids", "attention_mask"],
            output_names=["probabilities"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask")}
            | {"probabilities": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, dynamic axes as declared
        )


def preprocessing(run: FinishedRun, out: Path) -> dict[str, Any]:
    """How a server turns texts into the model's inputs and its outputs into labels."""
    settings: dict[str, Any] = {
        "body": run.record["body"],
        "labels": list(run.labels),
        "max_len": run.max_len,
        "pad_id": run.tokenizer.pad_id,
        "threshold": 0.5,
        "val_tuned_threshold": run.record.get("test_at_val_threshold", {}).get("threshold"),
        "tokenizer": OmegaConf.to_container(run.cfg.body.tokenizer, resolve=True),
    }
    if isinstance(run.tokenizer, ByteTokenizer):
        settings["encoding"] = BYTE_ENCODING
    else:
        run.tokenizer.save(out / "tokenizer")
        settings["encoding"] = (
            "AutoTokenizer.from_pretrained('tokenizer')(text, truncation=True, max_length=max_len)"
        )
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: ``python scripts/export.py --help``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a run folder that scripts/train.py wrote (logs/train/runs/<time>)")
    parser.add_argument("--out", help="where to write (default: RUN_DIR/export)")
    args = parser.parse_args(argv)
    try:
        print(export(args.run_dir, args.out))
    except BAD_INPUT as e:
        fail_in_one_line(root_cause(e))
    return 0
