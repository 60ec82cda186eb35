"""Export a finished run for serving: an ONNX model of the best checkpoint and its tokenizer settings.

``model.onnx`` maps ``input_ids`` and ``attention_mask`` (int64, batch x tokens, both axes dynamic)
to ``probabilities`` (batch x N, in the order of ``preprocessing.json``'s ``labels``; two classes: the
positive class second; a calibrated run's temperature built in). ``preprocessing.json`` says how texts
become those inputs; a pretrained body's tokenizer files go to ``tokenizer/`` beside it. ``--int8`` adds
``model.int8.onnx`` (onnxruntime's dynamic quantisation) and what it costs on the run's test split.
``--bundle OUT`` writes instead the run as it travels to another machine (``training/bundle.py``).
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import torch
from omegaconf import OmegaConf
from torch import Tensor, nn

from headswap.app.one_line import exit_code_on_interrupt, one_line_errors
from headswap.errors import ConfigError
from headswap.io import atomic_write, write_json
from headswap.model.tokenizer import ByteTokenizer
from headswap.training.bundle import write_bundle
from headswap.training.finished_run import FinishedRun, load_finished_run

OPSET = 17
BYTE_ENCODING = (
    f"ids = [{ByteTokenizer.BOS} (bos, or {ByteTokenizer.CLS} with add_cls), *utf8_bytes(text), "
    f"{ByteTokenizer.EOS} (eos)][:max_len]; pad with {ByteTokenizer.PAD}; "
    "attention_mask 1 on tokens, 0 on padding"
)


class Probabilities(nn.Module):
    """The classifier's logits as class probabilities: what a server returns."""

    def __init__(self, classifier: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.classifier = classifier
        self.temperature = temperature  # calibration: logits / T, as FinishedRun.probabilities

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        return (self.classifier(input_ids, attention_mask) / self.temperature).softmax(dim=-1)  # B x N


def export(run_dir: str | Path, out_dir: str | Path | None = None, int8: bool = False) -> Path:
    """Write ``model.onnx``, ``preprocessing.json`` (and ``tokenizer/``) to ``out_dir`` (default
    ``RUN_DIR/export``); with ``int8`` also ``model.int8.onnx`` and its cost on the test split. Every
    file is written whole or not at all. Returns the model's path."""
    run = load_finished_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.dir / "export"
    example = run.batch(["an example message", "a longer example message, to pad the first"])
    module = Probabilities(run.classifier, run.temperature).eval()
    stale = out / "model.int8.onnx"  # quantised from the model.onnx about to be replaced
    if stale.is_file():
        stale.unlink()
        if not int8:
            print(f"removed {stale}: it was made from the earlier model.onnx (--int8 makes it again)")
    model_file = atomic_write(out / "model.onnx", lambda f: write_onnx(module, example, f))
    settings = preprocessing(run, out)
    write_json(out / "preprocessing.json", settings)  # the files agree from here on, int8 or not
    if int8:
        from headswap.training.quantise import quantise  # onnxruntime's quantisation and the test split

        settings["int8"] = q = quantise(run, model_file, stale)
        print(
            f"int8: {q['model']}: test {q['metric']} {q['fp32']:.4f} -> {q['int8']:.4f} "
            f"({q['change']:+.4f}); largest probability difference {q['max_probability_difference']:.4f} "
            f"over {q['texts']} test texts"
        )
        write_json(out / "preprocessing.json", settings)
    return model_file


def write_onnx(module: nn.Module, example: dict[str, Tensor], path: str | IO[bytes]) -> None:
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
        "threshold": run.task.default_threshold,  # N classes: None, the most probable wins
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
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write model.int8.onnx (dynamic quantisation) and print its change in test F1",
    )
    parser.add_argument(
        "--bundle",
        metavar="OUT",
        help="instead, write what predict and serve need on another machine to the folder OUT "
        "(OUT.tar.gz: one file); export first to carry the ONNX model too",
    )
    args = parser.parse_args(argv)
    # Ctrl-C and SIGTERM end the export through the cleanup that leaves no temporary file behind.
    with exit_code_on_interrupt(), one_line_errors():
        if args.bundle is not None:
            if args.out is not None or args.int8:
                raise ConfigError("--bundle writes a bundle only: run --out/--int8 first, then --bundle")
            print(write_bundle(args.run_dir, args.bundle))
        else:
            print(export(args.run_dir, args.out, args.int8))
    return 0
