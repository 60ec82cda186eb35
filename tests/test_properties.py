"""Property tests: the tokenizer and the collate hold for any text and any batch."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from headswap.lit import PadCollate
from headswap.model import ByteTokenizer

tok = ByteTokenizer()
texts = st.text(max_size=300)  # any Unicode, the empty string included
max_lens = st.integers(min_value=2, max_value=64)


@given(texts)
def test_untruncated_text_round_trips(text: str) -> None:
    ids = tok.encode(text, max_len=10_000)
    assert tok.decode(ids) == text
    assert ids[0] == tok.BOS and ids[-1] == tok.EOS
    assert all(0 <= i < tok.vocab_size for i in ids)


@given(texts, max_lens)
def test_encoding_never_exceeds_max_len_and_keeps_the_start(text: str, max_len: int) -> None:
    ids = tok.encode(text, max_len)
    assert 2 <= len(ids) <= max_len or (text == "" and len(ids) == 2)
    raw = list(text.encode("utf-8"))
    assert ids[1 : 1 + len(raw)] == raw[: len(ids) - 1]
    assert tok.is_truncated(text, max_len) == (len(raw) > max_len - 1)


@settings(max_examples=50)
@given(st.lists(st.tuples(texts, st.integers(0, 1)), min_size=1, max_size=8), max_lens)
def test_collate_pads_any_batch_without_touching_real_tokens(
    batch: list[tuple[str, int]], max_len: int
) -> None:
    encoded = [torch.tensor(tok.encode(text, max_len)) for text, _ in batch]
    items = [
        (ids, torch.tensor(label), torch.tensor(i)) for i, (ids, (_, label)) in enumerate(zip(encoded, batch))
    ]
    out = PadCollate(tok.pad_id)(items)
    longest = max(len(ids) for ids in encoded)
    assert out["input_ids"].shape == out["attention_mask"].shape == (len(batch), longest)
    for row, ids in enumerate(encoded):
        assert out["input_ids"][row, : len(ids)].tolist() == ids.tolist()
        assert out["attention_mask"][row].sum() == len(ids)
        assert (out["input_ids"][row, len(ids) :] == tok.pad_id).all()
    assert out["labels"].tolist() == [label for _, label in batch]
