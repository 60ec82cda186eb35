"""A tiny random BERT written to disk as ``save_pretrained`` writes a real one: body=hf without a download."""

from __future__ import annotations

from pathlib import Path

WORDS = ("win", "free", "prize", "now", "claim", "hey", "are", "we", "still", "on", "for", "dinner", "call")


def write_tiny_bert(directory: Path) -> Path:
    """Config, weights and tokenizer of a 2-layer BERT with hidden size 16, in ``directory``."""
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "!", "?", ","]))
    tokenizer = transformers.BertTokenizer(vocab_file=str(vocab))
    config = transformers.BertConfig(
        vocab_size=len(vocab.read_text().splitlines()),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory
