"""Byte-level tokenizer: every UTF-8 byte is a token, so no text is ever out of vocabulary."""

from __future__ import annotations


class ByteTokenizer:
    """UTF-8 bytes as ids 0..255, plus four specials: 256 pad, 257 bos, 258 eos, 259 cls.

    ``encode`` writes ``[bos] + bytes + [eos]`` and truncates to ``max_len`` from the right, so the
    beginning of a message (where SMS spam shows itself) always survives. ``bos`` guarantees at
    least one real token, so an empty text never yields an all-padding row. With ``add_cls`` the
    sequence starts with ``cls`` instead of ``bos`` (for the ``cls`` pool on a bidirectional body).
    """

    PAD, BOS, EOS, CLS = 256, 257, 258, 259
    vocab_size = 260
    pad_id = PAD

    def __init__(self, add_cls: bool = False) -> None:
        self.add_cls = add_cls

    def encode(self, text: str, max_len: int) -> list[int]:
        first = self.CLS if self.add_cls else self.BOS
        return [first, *text.encode("utf-8"), self.EOS][:max_len]

    def is_truncated(self, text: str, max_len: int) -> bool:
        """True when ``encode(text, max_len)`` drops any of the text's bytes."""
        return len(text.encode("utf-8")) + 1 > max_len

    def decode(self, ids: list[int]) -> str:
        """Inverse of ``encode`` for untruncated text; a byte sequence cut mid-character decodes to U+FFFD."""
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")
