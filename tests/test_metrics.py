import pytest
import torch
from torchmetrics.functional.classification import binary_f1_score

from headswap.scoring import choose_threshold, decisions, score
from headswap.scoring import class_scores as scored_classes
from headswap.task import BINARY_SCORES, Task

LABELS = torch.tensor([1, 1, 1, 0, 0, 0, 1, 0])
PROBS = torch.tensor([0.9, 0.6, 0.2, 0.7, 0.1, 0.4, 0.8, 0.3])  # class-1 probabilities
# By hand at threshold 0.5: predictions 1 1 0 1 0 0 1 0 -> tp 3, fn 1, fp 1, tn 3.
SPAM = Task(["ham", "spam"])


def logits_of(probs: torch.Tensor) -> torch.Tensor:
    """Logits whose softmax gives class 1 the probabilities ``probs``."""
    return torch.stack([1 - probs, probs], dim=1).log()


def scores_at(probs: torch.Tensor, labels: torch.Tensor, threshold: float) -> dict:
    scores = score(logits_of(probs), labels, SPAM, threshold)
    return {**scores.figures, "confusion_matrix": scores.confusion_matrix}


def class_scores(probs: torch.Tensor, labels: torch.Tensor, names: list[str], threshold: float = 0.5) -> dict:
    task = Task(names)
    predicted = decisions(torch.stack([1 - probs, probs], dim=1), task, threshold)
    scored = scored_classes(predicted, labels, task)
    rows = {**scored["per_class"], "macro": scored["macro_average"]}  # as the report used to lay them out
    return {k: {m: round(v, 6) for m, v in row.items()} for k, row in rows.items()}


def test_metrics_match_hand_counts() -> None:
    got = score(logits_of(PROBS), LABELS, SPAM).figures
    assert got["precision"] == pytest.approx(3 / 4)
    assert got["recall"] == pytest.approx(3 / 4)
    assert got["f1"] == pytest.approx(3 / 4)
    assert got["accuracy"] == pytest.approx(6 / 8)
    # Ranking: 15 of the 16 (spam, ham) pairs are ordered correctly (0.2 < 0.3 and 0.4 and 0.7... by hand).
    pairs = [(p, n) for p in PROBS[LABELS == 1] for n in PROBS[LABELS == 0]]
    assert got["roc_auc"] == pytest.approx(sum(float(p > n) for p, n in pairs) / len(pairs))
    expected_loss = -sum(torch.log(p if y else 1 - p) for p, y in zip(PROBS, LABELS)) / len(LABELS)
    assert got["loss"] == pytest.approx(float(expected_loss), rel=1e-5)


def test_scored_figures_are_the_ones_a_run_records() -> None:
    assert set(score(logits_of(PROBS), LABELS, SPAM).figures) == {*BINARY_SCORES, "loss"}


def test_confusion_matrix_rows_are_true_labels() -> None:
    assert score(logits_of(PROBS), LABELS, SPAM).confusion_matrix == [[3, 1], [1, 3]]


def test_the_positive_class_wins_only_strictly_above_the_threshold() -> None:
    at_half = torch.tensor([0.5, 0.51, 0.49])
    assert scores_at(at_half, torch.tensor([0, 1, 0]), 0.5)["confusion_matrix"] == [[2, 0], [0, 1]]
    assert [SPAM.decide([1 - p, p]) for p in at_half.tolist()] == [0, 1, 0]


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


def brute_force_threshold(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """The search as first written: one F1 per candidate (0.5 and every midpoint), nearest 0.5 on ties."""
    values = torch.unique(probs)
    candidates = torch.cat([torch.tensor([0.5]), (values[1:] + values[:-1]) / 2])
    f1 = torch.stack([binary_f1_score(probs, labels, threshold=float(t)) for t in candidates])
    best = torch.nonzero(f1 == f1.max()).flatten()
    return float(candidates[best[torch.argmin((candidates[best] - 0.5).abs())]])


@pytest.mark.filterwarnings("ignore:No positive samples found")  # the all-ham draws: torchmetrics says so
@pytest.mark.parametrize("seed", range(40))
def test_threshold_matches_the_brute_force_search(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(2, 60, (1,), generator=g))
    labels = (torch.rand(n, generator=g) < 0.3).long()
    probs = (torch.rand(n, generator=g) * 0.6 + 0.4 * labels).clamp(0, 1)
    if seed % 2:  # coarse probabilities: many ties, some exactly at 0.5
        probs = (probs * 10).round() / 10
    if seed % 10 == 3:  # no positive example at all: every candidate scores F1 0
        labels = torch.zeros_like(labels)
    assert choose_threshold(probs, labels) == brute_force_threshold(probs, labels)


def test_threshold_with_one_distinct_probability_is_the_default() -> None:
    assert choose_threshold(torch.tensor([0.7, 0.7, 0.7]), torch.tensor([0, 1, 1])) == 0.5


def old_class_scores(confusion: list[list[int]], names: list[str]) -> dict[str, dict[str, float]]:
    """The report's per-class figures as first computed, by hand from [[tn, fp], [fn, tp]]."""
    (tn, fp), (fn, tp) = confusion
    per = {}
    for name, (hit, false_alarm, miss) in zip(names, ((tn, fn, fp), (tp, fp, fn))):
        precision = hit / (hit + false_alarm) if hit + false_alarm else 0.0
        recall = hit / (hit + miss) if hit + miss else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[name] = {"precision": precision, "recall": recall, "f1": f1, "support": hit + miss}
    per["macro"] = {k: sum(per[n][k] for n in names) / 2 for k in ("precision", "recall", "f1")}
    return per


def test_class_scores_by_hand() -> None:
    scores = class_scores(PROBS, LABELS, ["ham", "spam"])  # tp 3, fn 1, fp 1, tn 3 at 0.5
    assert scores["spam"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert scores["ham"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75, "support": 4}
    assert scores["macro"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75}
    at_065 = class_scores(PROBS, LABELS, ["ham", "spam"], threshold=0.65)  # spam predicted: 0.9 0.7 0.8
    assert at_065["spam"]["precision"] == pytest.approx(2 / 3, abs=1e-6)
    assert at_065["spam"]["recall"] == pytest.approx(2 / 4, abs=1e-6)
    assert at_065["ham"]["precision"] == pytest.approx(3 / 5, abs=1e-6)
    assert at_065["ham"]["recall"] == pytest.approx(3 / 4, abs=1e-6)


@pytest.mark.parametrize(
    ("probs", "labels"),
    [
        (PROBS, LABELS),
        (torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0, 1, 0, 1])),  # spam never predicted
        (torch.tensor([0.9, 0.8, 0.7]), torch.tensor([0, 0, 1])),  # ham never predicted
        (torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 0, 0])),  # spam neither present nor predicted
        (torch.tensor([0.5, 0.6, 0.2, 0.9, 0.5]), torch.tensor([1, 1, 0, 0, 0])),  # 0.5 itself is ham
    ],
)
def test_class_scores_match_the_confusion_matrix_formula(probs: torch.Tensor, labels: torch.Tensor) -> None:
    expected = old_class_scores(scores_at(probs, labels, 0.5)["confusion_matrix"], ["ham", "spam"])
    got = class_scores(probs, labels, ["ham", "spam"])
    assert set(got) == set(expected)
    for name, row in expected.items():
        assert got[name] == pytest.approx(row, abs=1e-6)


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    scores = class_scores(torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0, 1, 0, 1]), ["ham", "spam"])
    assert scores["spam"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert scores["macro"]["precision"] == pytest.approx(0.25)
