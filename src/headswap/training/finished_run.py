"""A finished training run, loaded back from its folder: its own saved config, its record, its best weights.

What ``predict`` and ``export`` start from. The run folder is what ``scripts/train.py`` wrote:
``.hydra/config.yaml`` (the composed config), ``metrics.json`` (written last, so its presence means
the run finished) and ``checkpoints/epochNNN.ckpt`` (the best validation epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from headswap.app.schema import register_resolvers
from headswap.io import check_state_dict, safe_load
from headswap.lit import HeadSwapClassifier
from headswap.lit.datamodule import PadCollate, Tokenizer
from headswap.model import Classifier
from headswap.run_record import FILE_NAME, RunRecord, read_run_record

NOT_A_RUN = "pass a folder that scripts/train.py wrote, such as logs/train/runs/<time>"


@dataclass
class FinishedRun:
    dir: Path
    cfg: DictConfig
    record: RunRecord
    checkpoint: Path
    classifier: Classifier  # in eval mode, with the best checkpoint's weights
    tokenizer: Tokenizer
    max_len: int

    @property
    def labels(self) -> tuple[str, str]:
        negative, positive = self.record["labels"]
        return negative, positive

    def batch(self, texts: list[str]) -> dict[str, Tensor]:
        """Token ids and padding mask of ``texts``, encoded and padded exactly as in training."""
        ids = [torch.tensor(self.tokenizer.encode(text, self.max_len)) for text in texts]
        zeros = torch.zeros(len(texts), dtype=torch.long)
        return PadCollate(self.tokenizer.pad_id)(list(zip(ids, zeros, zeros)))

    @torch.no_grad()
    def probabilities(self, texts: list[str]) -> Tensor:
        """Every class's probability for each text, in input order: n x N."""
        batch = self.batch(texts)
        return self.classifier(batch["input_ids"], batch["attention_mask"]).softmax(dim=-1)  # n x N

    def positive_probabilities(self, texts: list[str]) -> list[float]:
        """The positive class's probability for each text."""
        return self.probabilities(texts)[:, 1].tolist()

    def threshold(self, tuned: bool) -> float:
        """0.5, or with ``tuned`` the threshold that maximised validation F1 in this run."""
        if not tuned:
            return 0.5
        tuned_scores = self.record.get("test_at_val_threshold")
        if tuned_scores is None:
            raise ValueError(
                f"{self.dir} has no validation-tuned threshold (it ran with "
                "evaluation.tune_threshold=false): leave out --tuned-threshold"
            )
        return float(tuned_scores["threshold"])


def load_finished_run(run_dir: str | Path) -> FinishedRun:
    """The run in ``run_dir`` with its best weights; one line naming what is missing or does not fit."""
    run_dir = Path(run_dir)
    config_file = run_dir / ".hydra" / "config.yaml"
    for needed in (config_file, run_dir / FILE_NAME):
        if not needed.is_file():
            raise FileNotFoundError(f"{run_dir} is not a finished run: {needed.name} is missing; {NOT_A_RUN}")
    register_resolvers()  # the saved config names the resolvers it was composed with
    cfg = OmegaConf.load(config_file)
    record = read_run_record(run_dir / FILE_NAME)
    epoch = record["best_val"]["epoch"]
    checkpoint = run_dir / "checkpoints" / f"epoch{epoch:03d}.ckpt"
    if epoch is None or not checkpoint.is_file():
        raise FileNotFoundError(
            f"{run_dir} has no best checkpoint ({checkpoint.relative_to(run_dir)}): the run kept none; "
            "train again with the default callbacks"
        )
    model = _model_from_config(cfg)
    state = safe_load(checkpoint)
    if not isinstance(state, dict) or "state_dict" not in state:
        raise ValueError(f"checkpoint {checkpoint} is not a Lightning checkpoint: re-create it by training")
    weights = {k: v for k, v in state["state_dict"].items() if k != "class_weights"}  # training-only
    check_state_dict(model.state_dict(), weights, checkpoint)
    model.load_state_dict(weights)
    tokenizer = instantiate(cfg.body.tokenizer)
    return FinishedRun(run_dir, cfg, record, checkpoint, model.classifier.eval(), tokenizer, cfg.data.max_len)


def _model_from_config(cfg: DictConfig) -> HeadSwapClassifier:
    """The run's classifier as built for training, its body included, before any weights are loaded.

    The body is built as configured (a pretrained body from its directory, the tiny body freshly
    initialised), so the checkpoint, which holds every weight, decides what it computes.
    """
    return instantiate(cfg.model, body=instantiate(cfg.body.model), class_weights=None)
