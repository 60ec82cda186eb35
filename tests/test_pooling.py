import pytest
import torch

from headswap.model import AttentionPool, ClsPool, LastTokenPool, MaxPool, MeanPool, WeightedMeanPool

ALL_POOLS = [MeanPool, WeightedMeanPool, ClsPool, LastTokenPool, MaxPool, AttentionPool]


def test_mean_pool_is_mask_weighted_by_hand() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])  # 1 x 3 x 2, last is padding
    mask = torch.tensor([[1, 1, 0]])
    assert MeanPool(2)(hidden, mask).tolist() == [[2.0, 3.0]]


def test_hand_computed_values_of_other_pools() -> None:
    hidden = torch.tensor([[[1.0, 8.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert LastTokenPool(2)(hidden, mask).tolist() == [[3.0, 4.0]]
    assert MaxPool(2)(hidden, mask).tolist() == [[3.0, 8.0]]
    assert ClsPool(2)(hidden, mask).tolist() == [[1.0, 8.0]]
    torch.testing.assert_close(WeightedMeanPool(2)(hidden, mask), torch.tensor([[7 / 3, 16 / 3]]))
    torch.testing.assert_close(AttentionPool(2)(hidden, mask), MeanPool(2)(hidden, mask))  # query starts at 0


@pytest.mark.parametrize("pool_cls", ALL_POOLS)
def test_padding_and_batch_composition_never_change_the_pooled_vector(pool_cls) -> None:
    torch.manual_seed(0)
    pool = pool_cls(8)
    if isinstance(pool, AttentionPool):
        torch.nn.init.normal_(pool.query)
    short = torch.randn(1, 3, 8)
    alone = pool(short, torch.ones(1, 3, dtype=torch.long))
    # The same text padded to 6, next to a longer text, padding filled with large junk.
    padded = torch.cat([short, torch.full((1, 3, 8), 1e4)], dim=1)
    batch = torch.cat([padded, torch.randn(1, 6, 8)])
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6])
    out = pool(batch, mask)
    assert out.shape == (2, 8)
    torch.testing.assert_close(out[:1], alone)


def test_attention_pool_parameters_are_the_query_only() -> None:
    assert [n for n, _ in AttentionPool(8).named_parameters()] == ["query"]
    assert list(MeanPool(8).parameters()) == []
