"""Config checks that need more than one setting, run before any data is read or model trained."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from headswap.data.config import DataConfig, validates
from headswap.errors import ConfigError
from headswap.model.classifier import linear_head
from headswap.model.hf_body import HFOutline, hf_outline, hub_revision
from headswap.model.regime import Regime, resolve_parts

SEED_RANGE = (0, 2**32 - 1)  # what NumPy, seeded by Lightning, accepts


def int_setting(
    cfg: DictConfig, key: str, minimum: int, maximum: int | None = None, nullable: bool = False
) -> int | None:
    """A whole-number setting, or a one-line error naming the key and what it accepts.

    Settings outside the typed schemas arrive as whatever the command line said (``seed=abc`` is a string).
    """
    value = OmegaConf.select(cfg, key)
    if value is None and nullable:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= minimum and (maximum is None or value <= maximum):
            return value
    accepted = (
        f"an integer from {minimum} to {maximum}" if maximum is not None else f"an integer >= {minimum}"
    )
    raise ConfigError(f"{key}={value} must be {accepted}" + (", or null" if nullable else ""))


def check_writable(folder: str | Path, key: str) -> None:
    """Create ``folder`` and write a file in it now, so a run never trains only to find it cannot save."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise OSError(
            f"cannot write to {folder} ({e.strerror or e}): make it writable, or set {key}"
        ) from None


def body_outline(body: DictConfig) -> Any:
    """What the checks need of the body (its part names, ``causal``, ``max_len``) without loading
    pretrained weights: a pretrained encoder's (``body.path``) from its ``config.json``; the tiny body is
    built, which takes milliseconds."""
    if body.get("path") is not None:
        return hf_outline(body.path)
    return instantiate(body.model)


def check_config(cfg: DictConfig) -> None:
    """Build the cheap parts once so a bad value stops the job before any data loading or training.

    Single values are checked where they are defined (the dataclasses' ``__post_init__``); this adds
    the required and whole-number settings outside the schemas, the checks across settings, and that
    every folder the run writes to can be written.
    """
    check_plain_settings(cfg)
    pin_hub_revision(cfg)
    check_model(cfg)
    check_writable(cfg.paths.output_dir, "hydra.run.dir (hydra.sweep.dir in a sweep)")
    for name, callback in (cfg.get("callbacks") or {}).items():
        if callback is not None and callback.get("dirpath"):
            check_writable(callback.dirpath, f"callbacks.{name}.dirpath")
    if cfg.body.get("lm_pretraining", True):  # only a body pre-trained here is cached
        check_writable(cfg.paths.cache_dir, "paths.cache_dir")


def pin_hub_revision(cfg: DictConfig) -> None:
    """A hub id as ``body.path`` becomes ``id@commit``, the commit its cached snapshot holds, before
    anything reads it: the run's checks, tokenizer, weights, record and saved config then all name one
    revision, and its predict and serve load that revision later, whatever the hub holds by then."""
    path = OmegaConf.select(cfg, "body.path")
    pinned = hub_revision(path) if isinstance(path, str) and path else None
    if pinned is not None and pinned != path:
        cfg.body.path = pinned


def check_plain_settings(cfg: DictConfig) -> None:
    """Required values, and the settings no dataclass defines: epochs, patience, calibrate, the data's."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(
            f"{missing[0]} is required: set it on the command line ({missing[0]}=...)", key=missing[0]
        )
    int_setting(cfg, "trainer.max_epochs", 1)
    if OmegaConf.select(cfg, "callbacks.early_stopping") is not None:
        int_setting(cfg, "callbacks.early_stopping.patience", 1)
    calibrate = OmegaConf.select(cfg, "evaluation.calibrate")
    if calibrate is not None and not isinstance(calibrate, bool):
        raise ConfigError(
            f"evaluation.calibrate={calibrate} must be true or false", key="evaluation.calibrate"
        )
    DataConfig(**{f.name: cfg.data[f.name] for f in dataclasses.fields(DataConfig)})
    if not validates(cfg.data):
        check_without_validation(cfg)
    weights = OmegaConf.select(cfg, "model.class_weights")
    if (
        weights is not None
        and weights != "balanced"
        and not (OmegaConf.is_list(weights) and positive_numbers(weights))
    ):
        raise ConfigError(
            f"model.class_weights={weights} must be null, balanced or one positive number per class"
        )  # a wrong count is known once the data's classes are, before pre-training too


def check_without_validation(cfg: DictConfig) -> None:
    """What needs a validation part is refused, each in one line naming the setting to drop."""
    needs = {
        "callbacks.early_stopping": OmegaConf.select(cfg, "callbacks.early_stopping") is not None,
        "evaluation.calibrate": OmegaConf.select(cfg, "evaluation.calibrate") is True,
        "evaluation.monitor": OmegaConf.select(cfg, "evaluation.monitor") is not None,
        "data.val_path": OmegaConf.select(cfg, "data.val_path") is not None,
        "hparams_search": HydraConfig.initialized()  # any search but Hydra's plain grid optimises on val
        and not str(HydraConfig.get().sweeper.get("_target_", "BasicSweeper")).endswith("BasicSweeper"),
    }
    for key, refused in needs.items():
        if refused:
            raise ConfigError(
                f"{key} needs a validation part, and this run has none (data.val_per_class=0 or "
                f"data.val_fraction=0): drop {key}, or give the run a validation part",
                key=key,
            )


def check_pairs(cfg: DictConfig, pool: Any) -> None:
    """``regime.pairs`` tunes the body through a pool with nothing to learn, in one process."""
    if any(True for _ in pool.parameters()):
        raise ConfigError(
            f"regime.pairs tunes the body under a pool with nothing to learn, and pool={pool.name} learns: "
            "choose pool=mean (or another pool without weights)",
            key="pool",
        )
    for key in ("trainer.devices", "trainer.num_nodes"):
        value = OmegaConf.select(cfg, key)
        if isinstance(value, int) and value > 1:
            raise ConfigError(
                f"{key}={value}: regime.pairs tunes the body in one process, before the head's training "
                f"is spread over processes: set {key}=1",
                key=key,
            )


def check_head_fit(cfg: DictConfig, regime: Regime) -> None:
    """The head's input scaling (one kind at most), ``model.head_c`` (a number > 0 or null), and
    ``optimizer=lbfgs``, which fits one parameter group: the head, under a frozen body."""
    model = cfg.model
    linear_head(1, bool(model.get("standardize")), 2, bool(model.get("unit_length")))
    head_c = model.get("head_c")
    if head_c is not None and not positive_numbers([head_c]):
        raise ConfigError(
            f"model.head_c={head_c} must be a number > 0 (scikit-learn's C: smaller is a stronger "
            "penalty), or null for none",
            key="model.head_c",
        )
    body_trains = regime.body_trainable or regime.adapters or regime.unfreeze
    if OmegaConf.select(cfg, "optimizer._target_") == "torch.optim.LBFGS" and body_trains:
        raise ConfigError(
            f"optimizer=lbfgs fits the head alone, and regime={regime.name} trains the body too: choose "
            "regime=head or regime=contrastive, or optimizer=adam",
            key="optimizer",
        )


def positive_numbers(values: Any) -> bool:
    try:
        return all(float(v) > 0 and not isinstance(v, bool) for v in values)
    except (TypeError, ValueError):
        return False


def check_model(cfg: DictConfig) -> None:
    """The regime, body, pool and pre-training settings, alone and together."""
    regime, body, pool = instantiate(cfg.regime), body_outline(cfg.body), instantiate(cfg.pool)
    if not isinstance(regime, Regime):  # a user's YAML without the schema: its fields are nobody's
        raise ConfigError(
            f"regime={cfg.regime.get('name', '?')} is not built on the regime schema: start its YAML with "
            "defaults: [/schema/regime@_here_, _self_] (README, A regime is data)",
            key="regime",
        )
    instantiate(cfg.pretrain)
    for stage in regime.unfreeze:  # a typo in a late stage must not end a run halfway
        resolve_parts(body.parts(), stage["parts"])
    if cfg.body.lm_pretraining and isinstance(body, HFOutline):
        raise ConfigError(
            "body.lm_pretraining=true: an HF encoder arrives pretrained and LM pre-training here is the "
            "tiny body's; drop body.lm_pretraining=true",
            key="body.lm_pretraining",
        )
    if regime.pairs is not None:
        check_pairs(cfg, pool)
    check_head_fit(cfg, regime)
    if pool.name == "cls" and body.causal:
        raise ConfigError(
            "pool=cls reads the first token, which a causal body lets see only itself: "
            "set body.model.causal=false, or choose pool=lasttoken",
            key="pool",
        )
    if cfg.data.max_len > body.max_len:
        raise ConfigError(
            f"data.max_len={cfg.data.max_len} exceeds the body's position table ({body.max_len} tokens): "
            "lower data.max_len or enlarge the body",
            key="data.max_len",
        )
