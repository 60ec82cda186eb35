"""Plain PyTorch model code: tokenizer, body, pooling, regimes. No Lightning, no Hydra."""

from headswap.model.body import BodyConfig, TransformerBody, build_body
from headswap.model.classifier import Classifier, linear_head
from headswap.model.lm import LanguageModel
from headswap.model.pooling import (
    AttentionPool,
    ClsPool,
    LastTokenPool,
    MaxPool,
    MeanPool,
    Pool,
    WeightedMeanPool,
)
from headswap.model.regime import Regime, count_parameters, set_train_modes
from headswap.model.tokenizer import ByteTokenizer

__all__ = [
    "AttentionPool",
    "BodyConfig",
    "ByteTokenizer",
    "Classifier",
    "ClsPool",
    "LanguageModel",
    "LastTokenPool",
    "MaxPool",
    "MeanPool",
    "Pool",
    "Regime",
    "TransformerBody",
    "WeightedMeanPool",
    "build_body",
    "count_parameters",
    "linear_head",
    "set_train_modes",
]
