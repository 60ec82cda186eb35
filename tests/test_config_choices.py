"""Settings that had no test: each composes and does what it says, or is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import open_dict

from headswap.app.checks import check_config
from headswap.jobs import train
from headswap.task import Task
from headswap.training.build import build_datamodule
from headswap.training.recipe import class_weights, select_by

from .conftest import CONF, TINY, assert_refused, compose_cfg


def test_pool_cls_is_refused_on_a_causal_body(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["pool=cls", "body.model.causal=true"])
    with pytest.raises(ValueError) as err:
        check_config(cfg)
    assert_refused(err.value, "pool", "body.model.causal=false", "pool=lasttoken")
    check_config(compose_cfg(tmp_path, ["pool=cls", "body.model.causal=false"]))  # bidirectional: allowed


@pytest.mark.parametrize("setting", [[1.0, -1.0], [1.0], [1.0, 2.0, 3.0], ["a", "b"], [0, 1]])
def test_a_bad_class_weights_list_is_refused_naming_the_key(tmp_path: Path, setting: list) -> None:
    datamodule = build_datamodule(compose_cfg(tmp_path, TINY))
    with pytest.raises(ValueError) as err:
        class_weights(setting, datamodule)
    assert_refused(err.value, "model.class_weights", "null, balanced or 2 positive numbers")


def test_class_weights_reach_the_loss(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, [*TINY, "model.class_weights=[1,3]"])
    datamodule = build_datamodule(cfg)
    assert class_weights(cfg.model.class_weights, datamodule) == [1.0, 3.0]
    counts = torch.bincount(datamodule.parts["train"].labels, minlength=2).tolist()
    assert class_weights("balanced", datamodule) == [sum(counts) / (2 * c) for c in counts]


def test_a_negative_class_weight_is_refused_before_any_work(tmp_path: Path) -> None:
    """Wrong for any number of classes: refused with the config's other checks, before data is read."""
    with pytest.raises(ValueError) as err:
        train.run(compose_cfg(tmp_path, [*TINY, "model.class_weights=[1.0,-2.0,1]"]))
    assert_refused(err.value, "model.class_weights", "positive number")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no folder, no cache, nothing


def test_a_wrong_count_of_class_weights_is_refused_before_pre_training(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        train.run(compose_cfg(tmp_path, [*TINY, "model.class_weights=[1,2,3]"]))
    assert_refused(err.value, "model.class_weights", "2 positive numbers")
    assert not [p for p in (tmp_path / ".cache").rglob("*") if p.is_file()]  # no body was pre-trained
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_optimizer_adamw_builds_adamw_with_its_weight_decay(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["optimizer=adamw"])
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.defaults["weight_decay"] == 0.01


def test_experiment_sms_full_composes_the_general_recipe_on_the_bundled_sms(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["experiment=sms_full"])
    assert cfg.data.source._target_ == "headswap.data.table.SMSSpamCollection"
    assert (cfg.data.max_len, cfg.data.val_fraction, cfg.data.batch_size) == (160, 0.15, 64)
    assert cfg.regime.name == "gradual" and cfg.trainer.max_epochs == 12 and cfg.pretrain.epochs == 25
    check_config(cfg)


@pytest.mark.parametrize(
    ("monitor", "direction"),
    [(None, "maximize"), ("val/f1", "maximize"), ("val/macro_f1", "maximize"), ("val/loss", "minimize")],
)
def test_optuna_minimises_a_monitored_loss_and_maximises_a_score(
    tmp_path: Path, monitor: str | None, direction: str
) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    setting = "null" if monitor is None else monitor
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                f"paths.root_dir={tmp_path}",
                "hparams_search=optuna",
                f"evaluation.monitor={setting}",
            ],
            return_hydra_config=True,
        )
    assert cfg.hydra.sweeper.direction == direction


@pytest.mark.parametrize(
    ("overrides", "classes", "monitor", "mode"),
    [
        ([], 2, "val/f1", "max"),
        ([], 4, "val/macro_f1", "max"),
        (["evaluation.monitor=val/loss"], 2, "val/loss", "min"),
        (["evaluation.monitor=val/loss", "~callbacks.model_checkpoint"], 2, "val/loss", "min"),
    ],
)
def test_early_stopping_watches_what_evaluation_monitor_names(
    tmp_path: Path, overrides: list[str], classes: int, monitor: str, mode: str
) -> None:
    """One setting decides the kept checkpoint and when to stop, with or without the checkpoint callback."""
    cfg = compose_cfg(tmp_path, ["callbacks=early_stopping", *overrides])
    assert select_by(cfg, Task([f"class {i}" for i in range(classes)])) == monitor
    assert (cfg.callbacks.early_stopping.monitor, cfg.callbacks.early_stopping.mode) == (monitor, mode)
    if "model_checkpoint" in cfg.callbacks:
        assert (cfg.callbacks.model_checkpoint.monitor, cfg.callbacks.model_checkpoint.mode) == (
            monitor,
            mode,
        )
    assert instantiate(cfg.callbacks.early_stopping).monitor == monitor


def test_a_callback_that_watches_a_metric_without_a_mode_gets_the_monitor_only(tmp_path: Path) -> None:
    cfg = compose_cfg(tmp_path, ["evaluation.monitor=val/loss"])
    with open_dict(cfg):
        cfg.callbacks.watcher = {"_target_": "builtins.dict", "monitor": "val/f1"}
    select_by(cfg, Task(["ham", "spam"]))
    assert cfg.callbacks.watcher.monitor == "val/loss" and "mode" not in cfg.callbacks.watcher
