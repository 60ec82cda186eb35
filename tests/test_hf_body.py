"""A Hugging Face encoder as a body: parts, regimes, modes, adapters, tokenizer and offline loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from headswap.errors import ConfigError
from headswap.model import MeanPool, Regime, set_train_modes
from headswap.model.adapters import add_lora, block_linear_names
from headswap.model.classifier import Classifier
from headswap.model.hf_body import (
    HFBody,
    HFTokenizer,
    hidden_size,
    load_hf_body,
    model_dir,
    package_model_dir,
)
from tests.hf_models import write_tiny_bert

pytestmark = pytest.mark.slow  # an HF encoder written and loaded by transformers


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture
def body(bert_dir: Path) -> HFBody:
    return load_hf_body(bert_dir)


def test_parts_hold_every_weight_exactly_once(body: HFBody) -> None:
    parts = body.parts()
    assert list(parts) == ["embed", "blocks.0", "blocks.1", "norm"]
    in_parts = [id(p) for part in parts.values() for p in part.parameters()]
    assert len(in_parts) == len(set(in_parts)) == len(list(body.parameters()))
    assert list(parts["norm"].parameters()) == []  # BERT is post-norm: its last layer ends in a LayerNorm
    assert body.name == body_dir_name(body) and body.d_model == 16 and not body.causal


def body_dir_name(body: HFBody) -> str:
    return Path(body.encoder.name_or_path).name


@pytest.mark.parametrize(
    ("patterns", "trained"),
    [
        ([], []),
        (["blocks.-1", "norm"], ["blocks.1", "norm"]),
        (["*"], ["embed", "blocks.0", "blocks.1", "norm"]),
    ],
)
def test_regimes_written_for_the_tiny_body_apply_unchanged(body: HFBody, patterns, trained) -> None:
    """``partial``'s ``[blocks.-1, norm]`` and ``full``'s ``*`` name the encoder's layers."""
    regime = Regime("r", body_trainable=patterns, body_lr=1e-3 if patterns else 0.0)
    assert regime.apply_requires_grad(body.parts()) == trained
    layer_1 = body.encoder.encoder.layer[1]
    assert all(p.requires_grad == ("blocks.1" in trained) for p in layer_1.parameters())
    assert all(p.requires_grad == ("embed" in trained) for p in body.encoder.embeddings.parameters())


def test_frozen_body_runs_in_eval_mode_and_a_training_body_has_dropout_on(body: HFBody) -> None:
    assert not body.training  # from_pretrained returns eval mode
    Regime("head").apply_requires_grad(body.parts())
    set_train_modes(body, body.parts())
    assert not any(m.training for m in body.modules())
    Regime("partial", body_trainable=["blocks.-1"], body_lr=1e-3).apply_requires_grad(body.parts())
    set_train_modes(body, body.parts())
    dropouts = {n: m.training for n, m in body.named_modules() if isinstance(m, nn.Dropout)}
    assert all(on for n, on in dropouts.items() if ".layer.1." in n)
    assert not any(on for n, on in dropouts.items() if ".layer.0." in n or "embeddings" in n)


def test_body_output_ignores_padding(body: HFBody) -> None:
    ids = torch.tensor([[2, 5, 6, 3, 0, 0], [2, 5, 6, 3, 7, 8]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    short = body(ids[:1, :4], mask[:1, :4])
    torch.testing.assert_close(body(ids, mask)[:1, :4], short)


def test_lora_wraps_the_encoders_projections_by_default(body: HFBody) -> None:
    assert block_linear_names(body) == ["dense", "key", "query", "value"]
    add_lora(body, r=2)
    Regime("lora", body_lr=1e-3, adapters={"r": 2}).apply_requires_grad(body.parts())
    trainable = [n for n, p in body.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    wrapped = {n.split(".lora_")[0].rpartition(".")[2] for n in trainable}
    assert wrapped == {"query", "key", "value", "dense"}
    logits = Classifier(body, MeanPool(16)).eval()(
        torch.tensor([[2, 5, 3]]), torch.ones(1, 3, dtype=torch.long)
    )
    assert logits.shape == (1, 2)


def test_tokenizer_adds_the_models_specials_and_truncates_keeping_the_last(bert_dir: Path) -> None:
    tokenizer = HFTokenizer(bert_dir)
    ids = tokenizer.encode("hey are we still on for dinner", max_len=32)
    assert ids[0] == 2 and ids[-1] == 3 and len(ids) == 9  # [CLS] 7 words [SEP]
    assert tokenizer.encode("hey are we still on for dinner", max_len=4) == [*ids[:3], 3]
    assert tokenizer.is_truncated("hey are we still on for dinner", 8)
    assert not tokenizer.is_truncated("hey are we still on for dinner", 9)
    assert tokenizer.pad_id == 0


def test_missing_files_fail_in_one_line_naming_the_path(tmp_path: Path, bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="body.path is not set"):
        model_dir(None)
    with pytest.raises(FileNotFoundError, match=f"body.path={tmp_path}: no config.json there"):
        load_hf_body(tmp_path)
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match=f"body.path={tmp_path}: no weights there"):
        HFTokenizer(tmp_path)
    assert hidden_size(bert_dir) == 16
    with pytest.raises(ImportError, match="not installed"):
        package_model_dir("no_such_model_package")


def test_configured_hidden_size_must_match_the_model(bert_dir: Path) -> None:
    with pytest.raises(ValueError, match="body.model.d_model=32 but the model at .* has hidden size 16"):
        load_hf_body(bert_dir, d_model=32)


def test_a_model_folder_that_asks_to_run_its_own_code_is_refused(tmp_path: Path) -> None:
    """A model folder can come with someone's run folder: code it names (``auto_map``) never runs, and
    nothing asks whether it may."""
    folder = write_tiny_bert(tmp_path / "evil")
    ran = tmp_path / "ran"
    (folder / "modeling_evil.py").write_text(f"open({str(ran)!r}, 'w').write('ran')\\n")
    config = json.loads((folder / "config.json").read_text())
    config |= {
        "model_type": "evilbert",
        "auto_map": {"AutoConfig": "modeling_evil.EvilConfig", "AutoModel": "modeling_evil.Evil"},
    }
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError) as err:
        load_hf_body(folder)
    assert err.value.key == "body.path" and "\\n" not in str(err.value)
    assert not ran.exists()
