"""An exported run quantised to int8 by onnxruntime, and what that costs on the run's own test split.

The test split is rebuilt from the run's saved config (the same seed and fractions give the same split) and
used only to report the change, never to choose anything, so the run's test figures stay honest.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from headswap.errors import DataError
from headswap.io import atomic_write
from headswap.scoring import score
from headswap.training.finished_run import FinishedRun, build, load_onnx_run


def quantise(run: FinishedRun, model_file: Path, int8_file: Path) -> dict[str, Any]:
    """Write ``int8_file`` (weights int8, activations quantised on the fly) from ``model_file``; return
    the test split's headline score (F1 of the positive class, or macro-F1) under both models and their
    largest probability difference."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(f: Any) -> None:
        staged = int8_file.with_name(f".{int8_file.name}.staged")  # quantize_dynamic writes to a path
        root = logging.getLogger()
        level, _ = root.level, root.setLevel(logging.ERROR)  # its advice to pre-process applies to CNNs
        try:
            quantize_dynamic(model_file, staged, weight_type=QuantType.QInt8)
            f.write(staged.read_bytes())
        finally:
            root.setLevel(level)
            staged.unlink(missing_ok=True)

    datamodule = build(run.cfg, "data", tokenizer=run.tokenizer, shuffle_seed=None)  # imports Lightning
    datamodule.setup()
    if datamodule.label_names != run.labels:  # the data changed since training: another test split
        raise DataError(
            f"{run.dir}'s data now has the classes {list(datamodule.label_names)}, not the run's "
            f"{list(run.labels)}: --int8 scores the run's test split; restore the data, or leave out --int8"
        )
    atomic_write(int8_file, write)
    texts, labels = datamodule.texts("test"), datamodule.parts["test"].labels
    fp32 = load_onnx_run(run.dir, model_file).probabilities(texts)  # n x N
    int8 = load_onnx_run(run.dir, int8_file).probabilities(texts)  # n x N
    task = run.task
    before, after = (score(p.log(), labels, task).figures[task.headline] for p in (fp32, int8))
    return {
        "model": int8_file.name,
        "metric": task.headline,
        "texts": len(texts),
        "fp32": before,
        "int8": after,
        "change": after - before,
        "max_probability_difference": float((fp32 - int8).abs().max()),
    }
