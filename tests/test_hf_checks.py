"""Checking a body=hf config reads config.json: it never loads the encoder, and refuses early what
would fail late (a decoder, LM pre-training, a tokenizer larger than the vocabulary)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
import transformers

from headswap.app.checks import check_config
from headswap.app.launch import root_cause
from headswap.jobs import demo, train

from .conftest import TINY, assert_refused, compose_cfg
from .hf_models import write_tiny_bert

pytestmark = pytest.mark.slow  # transformers writes and reads HF models


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("bert"))


def hf(path: Path) -> list[str]:
    return ["body=hf", f"body.path={path}", "data.max_len=32"]


def test_checking_an_hf_config_does_not_load_the_model(tmp_path: Path, bert_dir: Path) -> None:
    cfg = compose_cfg(tmp_path, hf(bert_dir))
    with mock.patch.object(transformers.AutoModel, "from_pretrained") as load:
        check_config(cfg)
    load.assert_not_called()


def test_a_regime_naming_a_part_the_hf_body_lacks_is_refused_from_config_json(
    tmp_path: Path, bert_dir: Path
) -> None:
    cfg = compose_cfg(
        tmp_path,
        [*hf(bert_dir), "regime=partial", "regime.unfreeze=[{epoch: 1, parts: [blocks.5], lr: 1e-3}]"],
    )
    with pytest.raises(
        ValueError, match=r"regime entry 'blocks.5' matches no body part; .*'blocks.1', 'norm'"
    ):
        check_config(cfg)


def test_the_demo_loads_the_encoder_once_per_regime(tmp_path: Path, bert_dir: Path) -> None:
    loads = mock.Mock(wraps=transformers.AutoModel.from_pretrained)
    with mock.patch.object(transformers.AutoModel, "from_pretrained", loads):
        results = demo.run(compose_cfg(tmp_path, [*TINY[1:], *hf(bert_dir)], config_name="demo"))
    assert loads.call_count == len(results) == 2


def test_hf_body_with_lm_pretraining_is_refused_in_one_line(tmp_path: Path, bert_dir: Path) -> None:
    cfg = compose_cfg(tmp_path, [*hf(bert_dir), "body.lm_pretraining=true"])
    with pytest.raises(ValueError) as err:
        check_config(cfg)
    assert_refused(err.value, "body.lm_pretraining", "drop body.lm_pretraining=true")


def test_a_gpt2_directory_is_refused_as_a_decoder(tmp_path: Path) -> None:
    gpt2 = tmp_path / "gpt2"
    config = transformers.GPT2Config(n_embd=16, n_layer=1, n_head=2, vocab_size=64, n_positions=64)
    transformers.GPT2Model(config).save_pretrained(str(gpt2))
    with pytest.raises(Exception) as err:
        check_config(compose_cfg(tmp_path, hf(gpt2)))
    assert_refused(err.value, "body.path", "decoder", "encoders only")


def test_a_tokenizer_beyond_the_encoders_vocabulary_is_refused_before_training(tmp_path: Path) -> None:
    small = write_tiny_bert(tmp_path / "small")
    n_ids = len(transformers.AutoTokenizer.from_pretrained(str(small)))
    config = json.loads((small / "config.json").read_text())
    config["vocab_size"] = n_ids - 2  # as if the tokenizer of a larger model sat beside the weights
    (small / "config.json").write_text(json.dumps(config))
    refusal = refusal_of(lambda: train.run(compose_cfg(tmp_path, [*TINY[1:], *hf(small)])))
    sizes = f"the tokenizer has {n_ids} ids but the encoder's vocabulary holds {n_ids - 2}: "
    assert refusal.startswith(f"body.path={small}: {sizes}")
    assert not list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))


def refusal_of(job: Callable[[], object]) -> str:
    """The one line ``run_job`` would print for the error ``job`` raises (Hydra wraps it)."""
    with pytest.raises(Exception) as err:
        job()
    cause = root_cause(err.value)
    assert isinstance(cause, ValueError), repr(cause)
    return str(cause)
