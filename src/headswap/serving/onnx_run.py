"""A run's ONNX export, loaded for serving: what ``scripts/export.py`` wrote, without the checkpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import instantiate


@dataclass
class OnnxRun:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # encode(text, max_len) -> ids; pad_id
    settings: dict[str, Any]  # preprocessing.json

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.settings["labels"])

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Every class's probability for each text, in input order: n x N (the export applies any
        stored temperature)."""
        ids = [self.tokenizer.encode(text, self.settings["max_len"]) for text in texts]
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.settings["pad_id"], dtype=np.int64)  # n x T
        attention_mask = np.zeros((len(ids), width), dtype=np.int64)  # n x T
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            attention_mask[row, : len(x)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        return self.session.run(["probabilities"], feeds)[0]  # n x N

    def threshold(self, tuned: bool) -> float:
        """0.5, or with ``tuned`` the validation-tuned threshold the export recorded."""
        if not tuned:
            return float(self.settings["threshold"])
        if self.settings.get("val_tuned_threshold") is None:
            raise ValueError("the export has no validation-tuned threshold: leave out --tuned-threshold")
        return float(self.settings["val_tuned_threshold"])


def load_onnx_run(run_dir: str | Path) -> OnnxRun:
    """``RUN_DIR/export``'s model and preprocessing; one line naming what is missing."""
    import onnxruntime  # the onnx extra, needed only here

    export = Path(run_dir) / "export"
    for needed in ("model.onnx", "preprocessing.json"):
        if not (export / needed).is_file():
            raise FileNotFoundError(
                f"{export / needed} is missing: run `python scripts/export.py {run_dir}` first, "
                "or leave out --onnx"
            )
    settings = json.loads((export / "preprocessing.json").read_text())
    tokenizer_config = dict(settings["tokenizer"])
    if (export / "tokenizer").is_dir():  # a pretrained body's tokenizer travels with the export
        tokenizer_config["path"] = str(export / "tokenizer")
    session = onnxruntime.InferenceSession(str(export / "model.onnx"), providers=["CPUExecutionProvider"])
    return OnnxRun(session, instantiate(tokenizer_config), settings)
