"""A complete ``metrics.json`` record with every figure chosen by hand, for tests that need one on disk."""

from __future__ import annotations

from typing import Any

from headswap.run_record import FORMAT_VERSION


def sample_record(f1: float = 0.9, val_f1: float | None = None, seconds: float = 1.0) -> dict[str, Any]:
    """Every threshold score equal to ``f1`` on test, so a comparison's figures can be checked by eye."""
    scores = {
        "loss": 0.3,
        "precision": f1,
        "recall": f1,
        "f1": f1,
        "accuracy": f1,
        "pr_auc": 0.95,
        "roc_auc": 0.97,
    }
    class_scores = {"precision": 0.9, "recall": 0.8, "f1": 0.847059}
    return {
        "format_version": FORMAT_VERSION,
        "regime": "head",
        "pool": "mean",
        "schedule": "cosine_head",
        "seed": 0,
        "overrides": [],
        "labels": ["ham", "spam"],
        "test": {**scores, "ece": 0.05, "brier": 0.12},
        "best_val": {**scores, "f1": f1 if val_f1 is None else val_f1, "epoch": 3},
        "confusion_matrix": [[8, 2], [1, 9]],
        "per_class": {"ham": {**class_scores, "support": 10}, "spam": {**class_scores, "support": 10}},
        "macro_average": class_scores,
        "params": {"trainable": 130, "total": 1000, "body_trainable_parts": []},
        "cost": {
            "train_seconds": seconds,
            "fit_seconds": seconds + 0.5,
            "seconds_per_epoch": seconds / 2,
            "epochs": 2,
            "train_state_mb": 0.5,
            "peak_rss_mb": 400.0,
            "peak_rss_of": "run",
        },
        "data": {
            "sizes": {
                "train": {"ham": 24, "spam": 24},
                "val": {"ham": 8, "spam": 8},
                "test": {"ham": 8, "spam": 8},
            },
            "duplicate_groups": 0,
            "duplicate_rows": 0,
            "truncated": 0,
            "max_len": 160,
        },
        "pretrained_body": {"path": "body.pt", "cached": True},
        "checkpoint": "checkpoints/epoch003.ckpt",
        "output_dir": "run",
        "time": {"started": 0.0, "finished": 1.0, "pid": 1},
        "calibration": None,
        "early_stopping": None,
    }


def multiclass_record(macro_f1: float = 0.8, val_macro_f1: float | None = None) -> dict[str, Any]:
    """A three-class record: every test figure equal to ``macro_f1``, selected by validation macro-F1."""
    labels = ["alarm", "music", "weather"]
    scores = {
        "loss": 0.5,
        "accuracy": macro_f1,
        "macro_f1": macro_f1,
        "weighted_f1": macro_f1,
        "macro_precision": macro_f1,
        "macro_recall": macro_f1,
    }
    class_scores = {"precision": macro_f1, "recall": macro_f1, "f1": macro_f1}
    record = sample_record()
    record.pop("test_at_val_threshold", None)
    return {
        **record,
        "labels": labels,
        "monitor": "val/macro_f1",
        "test": {**scores, "ece": 0.05, "brier": 0.2},
        "best_val": {**scores, "macro_f1": macro_f1 if val_macro_f1 is None else val_macro_f1, "epoch": 2},
        "confusion_matrix": [[8, 1, 1], [1, 8, 1], [0, 2, 8]],
        "per_class": {name: {**class_scores, "support": 10} for name in labels},
        "macro_average": class_scores,
    }
