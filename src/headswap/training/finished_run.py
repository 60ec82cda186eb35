"""A finished training run, loaded back from its folder: its own saved config, its record, its best weights.

What ``predict``, ``export`` and ``serve`` start from. The run folder is what ``scripts/train.py`` wrote:
``.hydra/config.yaml`` (the composed config), ``metrics.json`` (written last, so its presence means
the run finished) and the checkpoint its record names (the best validation epoch's).

A run folder is data, never code: a colleague's folder or a release's may have been edited. Its config
is resolved to plain values, every ``_target_`` in the parts a finished run builds is checked against
``OWN`` (this project's own constructors) before anything is built, and each is then built by calling
that constructor, never ``hydra.utils.instantiate``; the checkpoint is read with ``weights_only``.
No Lightning here: predicting starts in a second.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import shutil
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import Tensor

from headswap.app.one_line import root_cause
from headswap.app.precision import BF16, FP32, precision_of
from headswap.app.resolvers import register_resolvers
from headswap.errors import ConfigError, DataError, MissingExtra, MissingFile, ModelPathError
from headswap.io import check_state_dict, safe_load
from headswap.model.classifier import Classifier, build_classifier
from headswap.model.padding import pad_batch
from headswap.run_record import FILE_NAME, RunRecord, read_run_record
from headswap.task import Task

NOT_A_RUN = "pass a folder that scripts/train.py wrote, such as logs/train/runs/<time>"
PREFIX = "classifier."  # the training module's attribute holding the Classifier
BODY_IN_BUNDLE = "body"  # a bundle's copy of a pretrained body's folder, read in place of body.path
BUNDLE_SUFFIXES = (".tar.gz", ".tgz")  # a bundle packed into one file (headswap export --bundle)
BUILT = ("body.model", "body.tokenizer", "pool", "data")  # what a finished run builds from its config
OWN = frozenset(
    {
        "headswap.model.body.build_body",
        "headswap.model.hf_body.load_hf_body",
        "headswap.model.tokenizer.ByteTokenizer",
        "headswap.model.hf_body.HFTokenizer",
        *(
            f"headswap.model.pooling.{pool}Pool"
            for pool in ("Mean", "WeightedMean", "Cls", "LastToken", "Max", "Attention")
        ),
        "headswap.lit.datamodule.TextDataModule",
        "headswap.lit.datamodule.table_datamodule",
        "headswap.data.fixture.Fixture",
        "headswap.data.fixture_hard.FixtureHard",
        "headswap.data.fixture_multiclass.FixtureMulticlass",
        "headswap.data.table.SMSSpamCollection",
        "headswap.data.table.HWU64Scenarios",
    }
)
"""The constructors a run's config may name for what a finished run builds (``BUILT``); a test checks
that every config in ``conf/`` names only these there."""


@dataclass
class LoadedRun:
    """What predicting needs from a run folder besides a model: its config, record and tokenizer."""

    dir: Path
    cfg: DictConfig
    record: RunRecord
    tokenizer: Any  # the run's tokenizer: encode(text, max_len) -> ids, pad_id
    max_len: int

    @property
    def task(self) -> Task:
        return Task(self.record["labels"])

    @property
    def labels(self) -> tuple[str, ...]:
        """The class names, index = class id (two classes: negative, positive)."""
        return self.task.labels

    @property
    def temperature(self) -> float:
        """The calibration temperature logits are divided by (1.0 when the run was not calibrated)."""
        return float((self.record.get("calibration") or {}).get("temperature", 1.0))

    def batch(self, texts: Sequence[str]) -> dict[str, Tensor]:
        """Token ids and padding mask of ``texts``, encoded and padded exactly as in training."""
        return pad_batch([self.tokenizer.encode(text, self.max_len) for text in texts], self.tokenizer.pad_id)

    @torch.no_grad()
    def probabilities(self, texts: Sequence[str], batch_size: int = 64) -> Tensor:
        """Every class's probability for each text, n x N in input order, temperature applied.

        Texts are encoded once and batched in length order, so a batch holds little padding.
        """
        ids = [self.tokenizer.encode(text, self.max_len) for text in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.empty(len(ids), len(self.labels))  # n x N
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            out[chosen] = self.batch_probabilities(pad_batch([ids[i] for i in chosen], self.tokenizer.pad_id))
        return out

    def batch_probabilities(self, batch: dict[str, Tensor]) -> Tensor:
        """B x N probabilities of one padded batch."""
        raise NotImplementedError

    def threshold(self, tuned: bool) -> float | None:
        """Two classes: 0.5, or with ``tuned`` the threshold that maximised validation F1 in this run.
        More: None, the most probable class wins (``Task.decide``)."""
        if not tuned:
            return self.task.default_threshold
        if not self.task.binary:
            raise ConfigError(
                f"{self.dir} has {len(self.labels)} classes: a tuned threshold is a two-class feature; "
                "leave out --tuned-threshold"
            )
        tuned_scores = self.record.get("test_at_val_threshold")
        if tuned_scores is None:
            raise ConfigError(
                f"{self.dir} has no validation-tuned threshold (it ran with "
                "evaluation.tune_threshold=false, or without validation): leave out --tuned-threshold"
            )
        return float(tuned_scores["threshold"])


@dataclass
class FinishedRun(LoadedRun):
    """The run with its best checkpoint's weights in the plain ``Classifier``."""

    checkpoint: Path
    classifier: Classifier  # in eval mode, with the best checkpoint's weights
    precision: str  # BF16 or FP32: what the run trained under, used to predict
    precision_note: str | None = None  # why the saved precision was not used, when it was not

    def batch_probabilities(self, batch: dict[str, Tensor]) -> Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == BF16):
            logits = self.classifier(batch["input_ids"], batch["attention_mask"])  # B x N
        return (logits.float() / self.temperature).softmax(dim=-1)


@dataclass
class OnnxRun(LoadedRun):
    """The run's exported ONNX model (``export/model.onnx``) in onnxruntime; its temperature is built in."""

    session: Any  # onnxruntime.InferenceSession

    def batch_probabilities(self, batch: dict[str, Tensor]) -> Tensor:
        inputs = {k: batch[k].numpy() for k in ("input_ids", "attention_mask")}
        return torch.from_numpy(self.session.run(["probabilities"], inputs)[0])


def load_onnx_run(run_dir: str | Path, model_file: str | Path | None = None) -> OnnxRun:
    """The run's tokenizer with its exported model (default ``RUN_DIR/export/model.onnx``)."""
    run_dir = unpacked(run_dir)
    cfg, record = load_config(run_dir)
    model_file = Path(model_file) if model_file is not None else run_dir / "export" / "model.onnx"
    if not model_file.is_file():
        raise MissingFile(
            f"{model_file} does not exist: export the run first (python scripts/export.py {run_dir})"
        )
    try:
        import onnxruntime
    except ImportError as e:
        raise MissingExtra(f"--onnx needs onnxruntime ({e}): pip install onnxruntime") from None
    with moved_body_explained(run_dir):
        tokenizer = build(cfg, "body.tokenizer")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # what the job chose (headswap.app.threads)
    session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    return OnnxRun(run_dir, cfg, record, tokenizer, cfg.data.max_len, session)


def run_precision(cfg: DictConfig, record: RunRecord | None = None) -> tuple[str, str | None]:
    """The precision the run trained under, as BF16 or FP32, and a note when it could not be used. The
    record's (what the trainer used) comes first: the saved ``trainer.precision`` may be an automatic
    choice that resolves differently on this machine."""
    trained = ((record or {}).get("cost") or {}).get("precision")
    try:
        value = trained or OmegaConf.select(
            cfg, "trainer.precision", default=FP32, throw_on_resolution_failure=True
        )
    except Exception:  # a resolver this process does not have (an automatic choice made at training)
        raw = OmegaConf.to_container(cfg.trainer, resolve=False).get("precision")  # type: ignore[union-attr]
        return FP32, f"trainer.precision {raw!r} does not resolve here: predicting in 32-bit"
    precision = precision_of(value)
    if precision is None:
        return FP32, f"trainer.precision={value} is not a CPU precision: predicting in 32-bit"
    return precision, None


def load_config(run_dir: str | Path) -> tuple[DictConfig, RunRecord]:
    """The run's saved config and its record; one line naming what is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingFile(f"{run_dir}: no such folder; {NOT_A_RUN}")
    config_file = run_dir / ".hydra" / "config.yaml"
    for needed in (config_file, run_dir / FILE_NAME):
        if not needed.is_file():
            raise MissingFile(f"{run_dir} is not a finished run: {needed.name} is missing; {NOT_A_RUN}")
    register_resolvers()  # the saved config names the resolvers it was composed with
    record = read_run_record(run_dir / FILE_NAME)
    cfg = OmegaConf.load(config_file)
    if (run_dir / BODY_IN_BUNDLE).is_dir():  # a bundle carries its body: the trained-on path is elsewhere
        OmegaConf.update(cfg, "body.path", str((run_dir / BODY_IN_BUNDLE).resolve()), force_add=True)
    with moved_body_explained(run_dir):
        for key in BUILT:
            check_own_targets(resolved(cfg, key, config_file), key, config_file)  # before anything is built
    return cfg, record  # type: ignore[return-value]


def resolved(cfg: DictConfig, key: str, source: Path | str = "the run's config") -> Any:
    """``cfg``'s node at ``key`` as plain values, every interpolation resolved (by the project's own
    resolvers and OmegaConf's), or one line saying the config is not a run's."""
    node = OmegaConf.select(cfg, key)
    if node is None:
        raise DataError(f"{source}: key {key!r} is missing: not the config of a run scripts/train.py wrote")
    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def check_own_targets(node: Any, key: str, source: Path | str) -> None:
    """Every ``_target_`` in ``node`` is one of ``OWN``, and Hydra's ``_args_`` and ``_partial_`` appear
    nowhere; else one line naming the key. A config someone sent is data: what it names never runs."""
    if isinstance(node, list):
        for i, value in enumerate(node):
            check_own_targets(value, f"{key}[{i}]", source)
    elif isinstance(node, dict):
        for name, value in node.items():
            where = f"{key}.{name}"
            if name in ("_args_", "_partial_") or (
                name == "_target_" and (not isinstance(value, str) or value not in OWN)
            ):
                raise DataError(
                    f"{source}: {where}={value!r} is refused: a run folder's config may name only headswap's "
                    "own bodies, tokenizers, pools and data, and runs no other code; re-create the run",
                    key=where,
                )
            check_own_targets(value, where, source)


def build(cfg: DictConfig, key: str, **extra: Any) -> Any:
    """The object at ``key``, built by the constructors its ``_target_``s name, each checked against
    ``OWN`` in the very values built (not an earlier resolution of them); ``extra`` keyword arguments go
    to the outermost one."""
    node = resolved(cfg, key)
    check_own_targets(node, key, "the run's config")
    return _construct(node, **extra)


def _construct(node: Any, **extra: Any) -> Any:
    if isinstance(node, list):
        return [_construct(value) for value in node]
    if not isinstance(node, dict):
        return node
    kwargs = {k: _construct(v) for k, v in node.items() if not k.startswith("_")}
    if "_target_" not in node:
        if extra:
            raise TypeError(f"arguments {sorted(extra)} given for a node that names no _target_")
        return kwargs
    module, _, name = node["_target_"].rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs, **extra)


def unpacked(path: str | Path) -> Path:
    """``path`` itself for a folder; a ``.tar.gz`` bundle unpacked into a temporary folder removed at exit.
    Members are unpacked as data only (no links out, no absolute paths, no devices)."""
    path = Path(path)
    if not (path.is_file() and path.name.endswith(BUNDLE_SUFFIXES)):
        return path
    folder = Path(tempfile.mkdtemp(prefix="headswap-bundle-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    try:
        with tarfile.open(path, "r:*") as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError) as e:
        problem = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a bundle that headswap export --bundle wrote ({problem})") from None
    return folder


def best_checkpoint(run_dir: Path, record: RunRecord) -> Path:
    """The checkpoint the run's figures come from, or one line saying why there is none."""
    if record["checkpoint"] is None:
        raise MissingFile(
            f"{run_dir} kept no checkpoint (it trained with trainer.enable_checkpointing=false): there are "
            "no weights to load; train again with checkpointing on"
        )
    checkpoint = run_dir / record["checkpoint"]
    if not checkpoint.resolve().is_relative_to(run_dir.resolve()):
        raise DataError(
            f"{run_dir / FILE_NAME}: checkpoint={record['checkpoint']!r} lies outside the run folder; a run "
            "names its checkpoint inside it (checkpoints/...): re-create the run",
            key="checkpoint",
        )
    if not checkpoint.is_file():
        raise MissingFile(
            f"{run_dir}: its checkpoint {record['checkpoint']} is missing, deleted or moved since "
            "training: put it back, or train again"
        )
    return checkpoint


def load_finished_run(run_dir: str | Path) -> FinishedRun:
    """The run in ``run_dir`` (a run folder or a bundle) with its best weights; one line naming what is
    missing or does not fit."""
    run_dir = unpacked(run_dir)
    cfg, record = load_config(run_dir)
    checkpoint = best_checkpoint(run_dir, record)
    state = safe_load(checkpoint)
    if not isinstance(state, dict) or not isinstance(state.get("state_dict"), dict):
        raise ConfigError(f"{checkpoint} is not a training checkpoint (it holds no state_dict): train again")
    weights = {k.removeprefix(PREFIX): v for k, v in state["state_dict"].items() if k.startswith(PREFIX)}
    with moved_body_explained(run_dir):
        classifier = classifier_from_config(cfg, len(record["labels"]))
        tokenizer = build(cfg, "body.tokenizer")
    check_state_dict(classifier.state_dict(), weights, checkpoint)
    classifier.load_state_dict(weights)
    precision, note = run_precision(cfg, record)
    return FinishedRun(
        run_dir, cfg, record, tokenizer, cfg.data.max_len, checkpoint, classifier.eval(), precision, note
    )


def classifier_from_config(cfg: DictConfig, num_classes: int) -> Classifier:
    """The run's classifier as built for training (its LoRA adapters included), before any weights load.

    The body is built as configured (a pretrained body from its directory, the tiny body freshly
    initialised), so the checkpoint, which holds every weight, decides what it computes.
    """
    adapters = (
        OmegaConf.to_container(cfg.regime.adapters) if OmegaConf.select(cfg, "regime.adapters") else None
    )
    if adapters and not set(adapters) <= {"r", "alpha", "dropout", "targets"}:
        raise DataError(f"regime.adapters={adapters} is not what a run writes: re-create the run")
    body, pool = build(cfg, "body.model"), build(cfg, "pool")
    standardize = bool(cfg.model.standardize)
    unit_length = bool(cfg.model.get("unit_length", False))  # runs made before the setting existed: off
    return build_classifier(body, pool, num_classes, standardize, adapters, unit_length=unit_length)  # type: ignore[arg-type]


def load_run(run_dir: str | Path, onnx: bool = False) -> LoadedRun:
    """The run's best checkpoint, or with ``onnx`` its export; one line naming what is missing."""
    return load_onnx_run(run_dir) if onnx else load_finished_run(run_dir)


@contextlib.contextmanager
def moved_body_explained(run_dir: Path) -> Iterator[None]:
    """A pretrained body no longer where the run trained it: say what to do, not which option to pass
    (predict and export have no ``body.path``)."""
    try:
        yield
    except Exception as e:
        cause = root_cause(e)
        if not isinstance(cause, ModelPathError):
            raise
        raise MissingFile(
            f"{run_dir} trained on the pretrained body at {cause.path}, which is no longer there "
            f"({cause.problem}): put the model folder back at that path, or edit body.path "
            f"in {run_dir / '.hydra' / 'config.yaml'}"
        ) from None
