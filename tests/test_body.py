import pytest
import torch

from headswap.model import BodyConfig, LanguageModel, TransformerBody, build_body


@pytest.fixture
def body() -> TransformerBody:
    torch.manual_seed(0)
    return TransformerBody(BodyConfig(dropout=0.0)).eval()


def test_hidden_states_are_batch_by_time_by_hidden(body: TransformerBody) -> None:
    ids = torch.randint(0, 256, (3, 7))
    assert body(ids, torch.ones(3, 7, dtype=torch.long)).shape == (3, 7, 64)


@pytest.mark.parametrize("causal", [True, False])
def test_padding_does_not_change_real_token_states(causal: bool) -> None:
    torch.manual_seed(0)
    body = TransformerBody(BodyConfig(dropout=0.0, causal=causal)).eval()
    ids = torch.randint(0, 256, (1, 5))
    alone = body(ids, torch.ones(1, 5, dtype=torch.long))
    padded_ids = torch.cat([ids, torch.full((1, 4), 256)], dim=1)
    padded = body(padded_ids, torch.tensor([[1] * 5 + [0] * 4]))
    torch.testing.assert_close(padded[:, :5], alone)


def test_causal_body_does_not_look_ahead(body: TransformerBody) -> None:
    a = torch.tensor([[257, 10, 11, 12, 13]])
    b = torch.tensor([[257, 10, 11, 99, 98]])
    mask = torch.ones(1, 5, dtype=torch.long)
    torch.testing.assert_close(body(a, mask)[:, :3], body(b, mask)[:, :3])
    assert not torch.allclose(body(a, mask)[:, 3:], body(b, mask)[:, 3:])


def test_bidirectional_body_looks_ahead_but_its_language_model_does_not() -> None:
    torch.manual_seed(0)
    body = TransformerBody(BodyConfig(dropout=0.0, causal=False)).eval()
    lm = LanguageModel(body).eval()
    a = torch.tensor([[257, 10, 11, 12, 13]])
    b = torch.tensor([[257, 10, 11, 99, 98]])
    mask = torch.ones(1, 5, dtype=torch.long)
    assert not torch.allclose(body(a, mask)[:, :3], body(b, mask)[:, :3])  # fine-tuning sees the whole text
    torch.testing.assert_close(lm(a, mask)[:, :3], lm(b, mask)[:, :3])  # next-token targets stay unseen


def test_parameter_groups_cover_every_parameter_once(body: TransformerBody) -> None:
    groups = body.parts()
    assert list(groups) == ["embed", "blocks.0", "blocks.1", "norm"]
    grouped = [p for m in groups.values() for p in m.parameters()]
    assert len(grouped) == len(list(body.parameters()))
    assert {id(p) for p in grouped} == {id(p) for p in body.parameters()}


def test_sequences_longer_than_the_position_table_fail_clearly(body: TransformerBody) -> None:
    with pytest.raises(ValueError, match="exceeds body.model.max_len=32"):
        body(torch.zeros(1, 33, dtype=torch.long), torch.ones(1, 33, dtype=torch.long))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_heads": 3}, "body.model.n_heads=3 does not divide body.model.d_model=64"),
        ({"max_len": 0}, "body.model.max_len=0 must be >= 1"),
        ({"dropout": 1.5}, "body.model.dropout=1.5"),
    ],
)
def test_bad_body_config_names_the_key(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_body(**kwargs)
