"""Lightning wrappers: the data module, the classifier and pre-training modules, callbacks."""

from headswap.lit.callbacks import CostMonitor
from headswap.lit.classifier import HeadSwapClassifier
from headswap.lit.datamodule import PadCollate, TextDataModule
from headswap.lit.pretraining import LMPretrainModule, PretrainConfig, pretrain_quick

__all__ = [
    "CostMonitor",
    "HeadSwapClassifier",
    "LMPretrainModule",
    "PadCollate",
    "PretrainConfig",
    "TextDataModule",
    "pretrain_quick",
]
