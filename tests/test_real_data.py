"""data=csv and data=sms_spam_collection through the real jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from headswap.jobs import train
from headswap.training.build import build_datamodule

from .conftest import ROOT, compose_cfg

COMMENTS = [
    ("Check out my channel for free giftcards!!!", 1),
    ("Subscribe to me and win an iPhone", 1),
    ("Great song, brings back memories", 0),
    ("This video is amazing, thanks for sharing", 0),
]


def write_comments(path: Path, n: int = 60) -> Path:
    rows = ["text,label"] + [f'"{text} #{i}",{label}' for i in range(n) for text, label in COMMENTS]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_csv_the_project_never_saw_trains_end_to_end(tmp_path: Path) -> None:
    csv = write_comments(tmp_path / "youtube.csv")
    cfg = compose_cfg(
        tmp_path,
        [
            "data=csv",
            f"data.path={csv}",
            "data.positive_label=1",
            "data.max_len=48",
            "pretrain.epochs=1",
            "trainer.max_epochs=2",
            "trainer.enable_progress_bar=false",
        ],
    )
    result = train.run(cfg)
    assert result["labels"] == ["0", "1"]
    assert sum(sum(row) for row in result["confusion_matrix"]) == 48  # 20% of 240
    assert result["data"]["sizes"]["test"] == {"0": 24, "1": 24}
    assert "test_at_val_threshold" in result and 0 < result["test_at_val_threshold"]["threshold"] < 1


def test_sms_collection_groups_duplicates_and_counts_truncation(tmp_path: Path) -> None:
    dm = build_datamodule(compose_cfg(tmp_path, ["data=sms_spam_collection"]))
    stats = dm.stats
    assert sum(sum(part.values()) for part in stats["sizes"].values()) == 5574
    assert stats["duplicate_groups"] == 281 and stats["duplicate_rows"] == 684
    assert not set(dm.texts("test")) & set(dm.texts("train"))
    assert 0 < stats["truncated"] < 5574 * 0.1
    test_spam = stats["sizes"]["test"]["spam"] / sum(stats["sizes"]["test"].values())
    assert test_spam == pytest.approx(747 / 5574, abs=0.01)


def test_balanced_class_weights_follow_the_training_counts(tmp_path: Path) -> None:
    from headswap.training.recipe import class_weights

    dm = build_datamodule(compose_cfg(tmp_path, ["data=sms_spam_collection"]))
    counts = dm.parts["train"].labels.bincount().tolist()
    assert class_weights("balanced", dm) == pytest.approx([sum(counts) / (2 * c) for c in counts])
    with pytest.raises(ValueError, match="model.class_weights"):
        class_weights([1.0, -2.0], dm)


@pytest.mark.slow
def test_bad_csv_ends_in_one_line_naming_file_and_line(tmp_path: Path) -> None:
    """Every other bad input has its message checked in test_table.py; this one goes through the CLI."""
    csv = tmp_path / "bad.csv"
    csv.write_text("text,label\nhello,1\n,0\n")
    cmd = [
        sys.executable,
        "scripts/train.py",
        "data=csv",
        f"data.path={csv}",
        "data.positive_label=1",
        f"paths.root_dir={tmp_path}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {csv}: line 3: empty text; remove the row or fill in its text\n"
