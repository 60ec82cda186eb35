import pytest
import torch

from headswap.lit.metrics import choose_threshold, classification_metrics, confusion_matrix, scores_at

LABELS = torch.tensor([1, 1, 1, 0, 0, 0, 1, 0])
PROBS = torch.tensor([0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.8, 0.3])  # class-1 probabilities
# By hand at threshold 0.5: predictions 1 1 0 1 0 0 1 0 -> tp 3, fn 1, fp 1, tn 3.


def test_metrics_match_hand_counts() -> None:
    metrics = classification_metrics("test/")
    metrics.update(PROBS, LABELS)
    got = {k: float(v) for k, v in metrics.compute().items()}
    assert got["test/precision"] == pytest.approx(3 / 4)
    assert got["test/recall"] == pytest.approx(3 / 4)
    assert got["test/f1"] == pytest.approx(3 / 4)
    assert got["test/accuracy"] == pytest.approx(6 / 8)
    # Ranking: 15 of the 16 (spam, ham) pairs are ordered correctly (0.2 < 0.3 and 0.4 and 0.7... by hand).
    pairs = [(p, n) for p in PROBS[LABELS == 1] for n in PROBS[LABELS == 0]]
    assert got["test/roc_auc"] == pytest.approx(sum(float(p > n) for p, n in pairs) / len(pairs))


def test_confusion_matrix_rows_are_true_labels() -> None:
    cm = confusion_matrix()
    cm.update(PROBS, LABELS)
    assert cm.compute().tolist() == [[3, 1], [1, 3]]


def test_counts_accumulate_over_batches_like_one_batch() -> None:
    metrics = classification_metrics("")
    for i in range(0, 8, 3):
        metrics.update(PROBS[i : i + 3], LABELS[i : i + 3])
    assert float(metrics.compute()["f1"]) == pytest.approx(0.75)


def test_threshold_is_chosen_to_maximise_f1() -> None:
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    probs = torch.tensor([0.05, 0.10, 0.20, 0.30, 0.35, 0.90])  # at 0.5 two spam are missed
    threshold = choose_threshold(probs, labels)
    assert 0.20 < threshold < 0.30
    assert scores_at(probs, labels, threshold)["f1"] == pytest.approx(1.0)
    assert scores_at(probs, labels, 0.5)["confusion_matrix"] == [[3, 0], [2, 1]]


def test_threshold_ties_keep_the_default() -> None:
    labels = torch.tensor([0, 1])
    assert choose_threshold(torch.tensor([0.1, 0.9]), labels) == 0.5
