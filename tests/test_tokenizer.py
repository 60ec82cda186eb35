import pytest

from headswap.model import ByteTokenizer

tok = ByteTokenizer()


def test_vocabulary_has_256_bytes_and_four_distinct_specials() -> None:
    specials = {tok.PAD, tok.BOS, tok.EOS, tok.CLS}
    assert tok.vocab_size == 260
    assert specials == {256, 257, 258, 259}
    assert tok.pad_id == 256


def test_encode_wraps_utf8_bytes_in_bos_and_eos() -> None:
    assert tok.encode("hé", max_len=32) == [257, ord("h"), 0xC3, 0xA9, 258]


@pytest.mark.parametrize("text", ["", "Free entry!", "naïve café — 東京 🎉", "a\nb\tc\x00"])
def test_decode_round_trips_any_text(text: str) -> None:
    assert tok.decode(tok.encode(text, max_len=1000)) == text


def test_truncation_keeps_the_beginning_and_exact_length() -> None:
    ids = tok.encode("x" * 100, max_len=32)
    assert len(ids) == 32
    assert ids[0] == tok.BOS and set(ids[1:]) == {ord("x")}
    assert tok.is_truncated("x" * 100, 32)
    assert not tok.is_truncated("x" * 30, 32)  # bos + 30 bytes + eos fits exactly
    assert not tok.is_truncated("x" * 31, 32)  # every byte kept, only eos dropped
    assert tok.is_truncated("x" * 32, 32)


def test_empty_text_still_has_a_real_token() -> None:
    assert tok.encode("", max_len=8) == [tok.BOS, tok.EOS]


def test_cls_variant_starts_with_cls() -> None:
    assert ByteTokenizer(add_cls=True).encode("hi", 8)[0] == ByteTokenizer.CLS
