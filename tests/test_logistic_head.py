"""The few-label recipe's head: scikit-learn's logistic regression (SetFit's head) fitted in the project's
loop. ``optimizer=lbfgs`` on the whole training part, ``model.head_c`` (L2 as scikit-learn's C) and
``model.unit_length`` (unit vectors into the head) give the head scikit-learn finds on the same
features; settings that cannot mean that are refused before any training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from headswap.errors import ConfigError
from headswap.jobs import train
from headswap.model.classifier import UnitLength, linear_head
from headswap.training.build import build_datamodule
from headswap.training.finished_run import load_finished_run

from .conftest import as_hydra_saves_it, assert_refused, compose_cfg

QUICK = ["pretrain.epochs=1", "trainer.enable_progress_bar=false"]
LOGISTIC = ["optimizer=lbfgs", "model.standardize=false", "model.unit_length=true", "model.head_c=1"]
LOGISTIC += ["regime.head_lr=1", "data.batch_size=2048", "trainer.max_epochs=1"]
BUDGET = ["data.train_per_class=6", "data.val_per_class=6", "regime.pairs.per_example=2"]


def fitted(tmp_path: Path, overrides: list[str]) -> tuple[Any, dict[str, Any], torch.Tensor, torch.Tensor]:
    """A finished run's classifier and record, and its training part's pooled features and labels."""
    cfg = as_hydra_saves_it(compose_cfg(tmp_path, [*QUICK, *overrides]))
    record = train.run(cfg)
    classifier = load_finished_run(tmp_path / "run").classifier
    features, labels = [], []
    with torch.no_grad():
        for batch in build_datamodule(cfg).loader("train"):
            mask = batch["attention_mask"]
            features.append(classifier.pool(classifier.body(batch["input_ids"], mask), mask))
            labels.append(batch["labels"])
    return classifier, record, torch.cat(features), torch.cat(labels)


def scikit_learns(features: torch.Tensor, labels: torch.Tensor, c: float) -> torch.Tensor:
    """Logits of scikit-learn's ``LogisticRegression(C=c)``, fitted to far tighter limits than its own,
    on unit-length ``features``: B x 1 for two classes, B x N for more."""
    x = torch.nn.functional.normalize(features.double(), dim=-1).numpy()
    model = LogisticRegression(C=c, tol=1e-10, max_iter=10_000).fit(x, labels.numpy())
    return torch.from_numpy(model.decision_function(x)).reshape(len(x), -1)


@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=fewshot", *BUDGET],  # the recipe itself: the body tuned on pairs, then this head
        ["data=fixture_multiclass", *LOGISTIC],  # four classes: scikit-learn's multinomial model
    ],
    ids=["recipe", "four_classes"],
)
def test_the_head_is_the_one_scikit_learn_fits(tmp_path: Path, overrides: list[str]) -> None:
    classifier, record, features, labels = fitted(tmp_path, overrides)
    assert isinstance(classifier.head[0], UnitLength) and record["cost"]["epochs"] == 1
    with torch.no_grad():
        ours = classifier.head(features).double()
    theirs = scikit_learns(features, labels, c=1.0)
    if theirs.shape[1] == 1:
        ours = ours[:, 1:] - ours[:, :1]  # two classes: the positive class's log-odds
    else:  # N classes: logits are defined up to a shift common to every class
        ours, theirs = ours - ours.mean(1, keepdim=True), theirs - theirs.mean(1, keepdim=True)
    assert torch.allclose(ours, theirs, atol=2e-3), (ours - theirs).abs().max()
    unpenalised = LogisticRegression(C=1e6, max_iter=10_000).fit(features.numpy(), labels.numpy())
    assert abs(unpenalised.coef_).max() > 10 * classifier.head[-1].weight.abs().max()  # the penalty acts


def test_a_unit_length_head_sees_only_directions() -> None:
    torch.manual_seed(0)
    head, x = linear_head(4, standardize=False, num_classes=3, unit_length=True), torch.randn(5, 4)
    assert torch.allclose(head(7.5 * x), head(x))
    linear = head[-1]
    assert torch.allclose(head(x), linear(x / x.norm(dim=-1, keepdim=True)))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["model.unit_length=true"], "model.unit_length"),  # and standardize, on by default
        (["model.head_c=0"], "model.head_c"),
        (["model.head_c=abc"], "model.head_c"),
        (["optimizer=lbfgs", "regime=full"], "optimizer"),
        (["optimizer=lbfgs", "regime=lora"], "optimizer"),
        (["optimizer=lbfgs", "data.batch_size=64"], "data.batch_size"),  # 512 training texts
    ],
)
def test_settings_the_head_fit_cannot_mean_are_refused_before_training(
    tmp_path: Path, overrides: list[str], key: str
) -> None:
    with pytest.raises(Exception) as err:
        train.run(compose_cfg(tmp_path, [*QUICK, *overrides]))
    assert isinstance(assert_refused(err.value, key), ConfigError)
    assert not (tmp_path / "run" / "metrics.json").exists()
    assert not list((tmp_path / "run").rglob("*.ckpt"))


@pytest.mark.slow  # an ONNX export
def test_a_unit_length_run_exports_and_predicts_what_it_scored(tmp_path: Path) -> None:
    import onnxruntime

    from headswap.jobs.export import export

    cfg = as_hydra_saves_it(compose_cfg(tmp_path, [*QUICK, "data=fixture_multiclass", *LOGISTIC]))
    train.run(cfg)
    run = load_finished_run(tmp_path / "run")
    texts = ["WINNER!! Claim your free prize now", "ok", "Hey Sam, are we still on for dinner tonight?"]
    batch = run.batch(texts)
    ids, mask, classifier = batch["input_ids"], batch["attention_mask"], run.classifier
    with torch.no_grad():
        pooled = classifier.pool(classifier.body(ids, mask), mask)
        logits = classifier.head[-1](pooled / pooled.norm(dim=-1, keepdim=True))  # the head on unit vectors
    torch.testing.assert_close(run.probabilities(texts), logits.softmax(-1), atol=1e-6, rtol=0)
    session = onnxruntime.InferenceSession(str(export(tmp_path / "run")))
    onnx = session.run(["probabilities"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    assert onnx == pytest.approx(run.probabilities(texts).numpy(), abs=1e-5)
