"""compare.py on hand-made sweep folders, where every number can be checked by hand."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from rich.console import Console
from scipy.stats import t as student_t

from headswap.app.job_dirs import MAX_LENGTH, job_dir_name
from headswap.errors import DataError
from headswap.jobs.compare import latest_sweep
from headswap.jobs.compare import main as compare_main
from headswap.run_record import FORMAT_VERSION
from headswap.sweeps.comparison import compare, compare_and_report, group_name
from headswap.sweeps.multirun import parse_overrides

from .conftest import CONF
from .records import sample_record


def make_job(
    sweep: Path, overrides: list[str], f1: float | None, seconds: float = 1.0, val_f1: float | None = None
) -> Path:
    job = sweep / ",".join(overrides)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if f1 is not None:
        (job / "metrics.json").write_text(json.dumps(sample_record(f1, val_f1, seconds)))
    return job


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "logs" / "train" / "multiruns" / "2026-01-01_00-00-00"
    for seed, (head, full) in enumerate([(0.80, 0.95), (0.84, 0.96), (0.82, 0.97)]):
        make_job(sweep, ["data.x=1", "regime=head", f"seed={seed}"], head, seconds=1.0)
        make_job(sweep, ["data.x=1", "regime=full", f"seed={seed}"], full, seconds=3.0)
    make_job(sweep, ["data.x=1", "regime=partial", "seed=0"], None)
    return sweep


def test_groups_by_everything_but_the_seed(sweep: Path) -> None:
    c = compare(sweep)
    # best val F1 first; shared data.x dropped
    assert [g.name for g in c.groups] == ["regime=full", "regime=head"]
    full = c.groups[0]
    assert full.seeds == ["0", "1", "2"]
    assert full.scores["f1"].mean == pytest.approx(0.96)
    assert full.scores["f1"].std == pytest.approx(0.01)
    assert full.scores["f1"].half_width == pytest.approx(student_t.ppf(0.975, 2) * 0.01 / math.sqrt(3))
    assert full.mean_of("cost", "train_seconds") == 3.0


def test_jobs_of_several_bodies_are_grouped_by_the_body_their_records_name(tmp_path: Path) -> None:
    """Two spellings of one body (records name it alike) group together; records without the key
    (written before it existed) ran the tiny body."""
    sweep = tmp_path / "sweep"
    for seed in range(2):
        make_job(sweep, ["regime=full", f"seed={seed}"], 0.90)  # no "body" key: the tiny body
        for overrides in (["body=minilm"], ["body=hf", "body.path=minilm_dir"]):
            job = make_job(sweep, [*overrides, "regime=full", f"seed={seed}"], None)
            (job / "metrics.json").write_text(json.dumps({**sample_record(0.95), "body": "all-MiniLM-L6-v2"}))
    c = compare(sweep)
    assert [(g.name, len(g.jobs)) for g in c.groups] == [("body=all-MiniLM-L6-v2", 4), ("body=tiny", 2)]


def test_groups_are_ranked_by_validation_never_by_test(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    for seed in range(2):  # lr=1 wins on test, lr=2 on validation: validation decides the order
        make_job(sweep, ["lr=1", f"seed={seed}"], 0.95, val_f1=0.90 + seed / 100)
        make_job(sweep, ["lr=2", f"seed={seed}"], 0.90, val_f1=0.94)
    c = compare_and_report(sweep)
    assert [g.name for g in c.groups] == ["lr=2", "lr=1"]
    assert c.groups[1].val_score.mean == pytest.approx(0.905)
    rows = [line for line in (sweep / "comparison.md").read_text().splitlines() if line.startswith("| lr=")]
    assert rows[0].startswith("| lr=2 | 2 | 0.940 ± 0.000 | 0.900")  # group, runs, val f1, test precision


def test_paired_difference_by_hand(sweep: Path) -> None:
    (pair,) = compare(sweep).pairs
    diffs = [0.15, 0.12, 0.15]  # full - head, seed by seed
    mean = sum(diffs) / 3
    std = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 2)
    assert (pair.a, pair.b, pair.seeds) == ("regime=full", "regime=head", ["0", "1", "2"])
    assert pair.diff.mean == pytest.approx(mean)
    assert pair.diff.half_width == pytest.approx(student_t.ppf(0.975, 2) * std / math.sqrt(3))
    assert pair.verdict == "regime=full better"


def test_failed_jobs_are_listed_not_dropped(sweep: Path, capsys) -> None:
    c = compare_and_report(sweep)
    assert [j.dir.name for j in c.failed] == ["data.x=1,regime=partial,seed=0"]
    out = capsys.readouterr().out
    assert "failed or missing" in out and "regime=partial" in out
    assert "regime=partial" in (sweep / "comparison.md").read_text()


def test_outputs_match_the_jobs(sweep: Path) -> None:
    compare_and_report(sweep)
    rows = (sweep / "comparison.csv").read_text().splitlines()
    assert rows[1].startswith("regime=full,3,0 1 2,0.960000,0.010000,")
    for png in ("f1_by_group.png", "f1_vs_time.png", "confusion_matrices.png"):
        assert (sweep / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_error_file_line_is_reported(tmp_path: Path) -> None:
    job = make_job(tmp_path, ["regime=head", "seed=0"], None)
    (job / "error.txt").write_text("ValueError: regime.head_lr=-1.0 must be > 0\n\ntraceback...")
    make_job(tmp_path, ["regime=head", "seed=1"], 0.9)
    (failed,) = compare(tmp_path).failed
    assert failed.error == "ValueError: regime.head_lr=-1.0 must be > 0"


def test_every_job_failed_is_an_error(tmp_path: Path) -> None:
    make_job(tmp_path, ["seed=0"], None)
    with pytest.raises(ValueError, match="every job in .* failed"):
        compare_and_report(tmp_path)


def test_non_sweep_and_missing_directories_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a multirun directory"):
        compare(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        compare(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no multirun under"):
        latest_sweep(tmp_path)


def test_latest_sweep_is_the_newest(sweep: Path) -> None:
    older = sweep.parent / "2025-01-01_00-00-00"
    older.mkdir()
    os.utime(older, (0, 0))
    assert latest_sweep(sweep.parents[2]) == sweep


def test_overrides_are_read_as_hydra_reads_them(tmp_path: Path) -> None:
    lines = ["regime=head", "+seed=3", "data.path='/a/b=c.csv'", "hydra/launcher=joblib", "paths.root_dir=/x"]
    overrides = parse_overrides(lines, tmp_path)
    keys = [o.key_or_group for o in overrides]
    assert keys == ["regime", "seed", "data.path", "hydra/launcher", "paths.root_dir"]
    assert overrides[2].value() == "/a/b=c.csv"
    path, launcher = "data.path='/a/b=c.csv'", "hydra/launcher=joblib"
    assert group_name(overrides) == f"{path},{launcher},regime=head"  # no seed, no paths
    assert group_name(overrides, constant={"regime=head"}) == f"{path},{launcher}"


def test_seed_is_found_whether_added_or_changed(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    make_job(sweep, ["regime=head", "+seed=3"], 0.9)
    make_job(sweep, ["regime=head", "seed=4"], 0.8)
    make_job(sweep, ["regime=full"], 0.7)
    seeds = {job.dir.name: job.seed for group in compare(sweep).groups for job in group.jobs}
    assert seeds == {"regime=head,+seed=3": "3", "regime=head,seed=4": "4", "regime=full": "default"}


def test_an_override_hydra_would_refuse_names_the_file(tmp_path: Path) -> None:
    make_job(tmp_path, ["regime=head", "data.query=a=b"], 0.9)  # unquoted '=' in a value: not Hydra syntax
    with pytest.raises(ValueError, match=r"overrides\.yaml: 'data\.query=a=b' is not a Hydra override"):
        compare(tmp_path)


def test_a_record_of_another_format_is_listed_as_failed_and_the_rest_compare(sweep: Path) -> None:
    job = sweep / "data.x=1,regime=head,seed=1"
    (job / "metrics.json").write_text(json.dumps({**sample_record(), "format_version": FORMAT_VERSION + 1}))
    result = compare(sweep)
    (failed,) = [j for j in result.failed if j.dir == job]
    assert re.search(rf"metrics\.json: key 'format_version' is {FORMAT_VERSION + 1}", failed.error)
    assert all(j.metrics is not None for g in result.groups for j in g.jobs)


def test_jobs_nested_by_a_path_override_are_still_found(tmp_path: Path) -> None:
    """Sweeps written before job folders were kept flat nest a job under the ``/`` of a path value."""
    sweep = tmp_path / "old_sweep"
    for regime, f1 in (("head", 0.8), ("full", 0.9)):
        job = make_job(sweep / "data.path=" / "srv" / "data", [f"regime={regime}", "seed=0"], f1)
        assert job.parent != sweep
    assert sorted(g.name for g in compare(sweep).groups) == ["regime=full", "regime=head"]


@pytest.mark.parametrize(
    ("dirname", "expected"),
    [
        ("regime=head,seed=0", "regime=head,seed=0"),  # plain values keep the readable name
        ("+data.x=1,~trainer.logger", "+data.x=1,~trainer.logger"),
        ("data.path=/srv/data/a.csv,regime=head", "3_data.path=_srv_data_a.csv,regime=head_"),
        ("name='a b=c'", "3_name=_a_b=c_"),
        ("data.text_column=評論", "3_data.text_column=_"),  # non-ASCII: 120 characters stay 120 bytes
    ],
)
def test_job_folder_names_are_flat_and_readable(dirname: str, expected: str) -> None:
    name = job_dir_name(dirname, 3)
    if expected.endswith("_"):  # altered names end in a digest of the whole override string
        assert name == expected + hashlib.sha1(dirname.encode()).hexdigest()[:8]
    else:
        assert name == expected


def test_long_job_folder_names_are_cut_and_numbered() -> None:
    name = job_dir_name("x=" + "a" * 500, 7)
    assert name.startswith("7_x=aaa") and len(name) <= 2 + MAX_LENGTH + 9


def test_names_that_differ_only_past_the_cut_or_in_replaced_characters_stay_apart() -> None:
    """Two sweeps run into one folder number their jobs from 0 each: the digest keeps them apart."""
    common = "body=minilm,data.group_by_length=false," + "x" * MAX_LENGTH
    assert job_dir_name(common + ",seed=0", 0) != job_dir_name(common + ",seed=1", 0)
    assert job_dir_name("data.text_column=評論", 0) != job_dir_name("data.text_column=評價", 0)


def test_compare_without_a_folder_looks_under_headswap_root(
    sweep: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """As the scripts write under ``$HEADSWAP_ROOT/logs``, compare reads there, not an older ./logs."""
    elsewhere = tmp_path_factory.mktemp("cwd")
    stale = elsewhere / "logs" / "train" / "multiruns" / "2020-01-01_00-00-00_1"
    make_job(stale, ["regime=stale", "seed=0"], 0.5)
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HEADSWAP_ROOT", str(sweep.parents[3]))
    assert compare_main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"comparing {sweep}\n") and "regime=full" in out and "stale" not in out


def test_sweep_folder_names_the_process_like_a_run_folder(tmp_path: Path) -> None:
    """Two ``-m`` sweeps started in the same second get folders of their own."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.root_dir={tmp_path}"], return_hydra_config=True)
    HydraConfig().set_config(cfg)
    name = Path(cfg.hydra.sweep.dir).name
    assert name.endswith(f"_{os.getpid()}") and Path(cfg.hydra.run.dir).name.endswith(f"_{os.getpid()}")


def test_intervals_stay_within_what_the_figure_can_be(tmp_path: Path) -> None:
    """Two seeds far apart give a t-interval wider than [0, 1]: an F1 cannot leave it."""
    sweep = tmp_path / "sweep"
    for seed, f1 in ((0, 0.55), (1, 0.99)):
        job = sweep / f"regime=head,seed={seed}"
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- regime=head\n- seed={seed}\n")
        (job / "metrics.json").write_text(json.dumps(sample_record(f1)))
    (group,) = compare(sweep).groups
    f1 = group.scores["f1"]
    assert f1.mean + f1.half_width > 1 and f1.high == 1.0 and 0 <= f1.low < f1.mean


def budget_sweep(tmp_path: Path) -> Path:
    """Head and full at 8 and 16 labels a class, seeds 0-2: full leads by 0.1 at 8 and 0.05 at 16."""
    sweep = tmp_path / "budgets"
    for k, (head, full) in ((8, (0.6, 0.7)), (16, (0.75, 0.8))):
        for seed in range(3):
            for regime, f1 in (("head", head), ("full", full)):
                job = make_job(
                    sweep, [f"data.train_per_class={k}", f"regime={regime}", f"seed={seed}"], f1 + seed / 100
                )
                record = json.loads((job / "metrics.json").read_text())
                record["data"]["budget"] = {"train_per_class": k, "val_per_class": None, "sample_seed": seed}
                (job / "metrics.json").write_text(json.dumps(record))
    return sweep


def test_groups_are_paired_only_within_one_label_budget(tmp_path: Path) -> None:
    c = compare(budget_sweep(tmp_path))
    assert sorted((p.budget, round(p.diff.mean, 6)) for p in c.pairs) == [(8, 0.1), (16, 0.05)]
    assert all(p.a.split(",")[0] == p.b.split(",")[0] for p in c.pairs)  # the same budget on both sides
    assert {g.without_budget for g in c.groups} == {"regime=head", "regime=full"}
    assert sorted(g.labels_per_class for g in c.groups) == [8.0, 8.0, 16.0, 16.0]


def test_groups_are_ranked_within_their_label_budget(tmp_path: Path) -> None:
    """Validation figures of two budgets come from two samples: 8 labels a class scoring 0.99 on its 8
    validation examples ranks nothing against 64 a class; each budget is ranked on its own, fewest first."""
    sweep = tmp_path / "budgets"
    budgets = ((64, {"head": 0.90, "full": 0.95}), (8, {"head": 0.99, "full": 0.97}), (None, {"head": 0.93}))
    for k, vals in budgets:
        for regime, val in vals.items():
            budget = [] if k is None else [f"data.train_per_class={k}"]
            job = make_job(sweep, [*budget, f"regime={regime}", "seed=0"], 0.7, val_f1=val)
            record = json.loads((job / "metrics.json").read_text())
            if k is not None:
                record["data"]["budget"] = {"train_per_class": k, "val_per_class": k, "sample_seed": 0}
            (job / "metrics.json").write_text(json.dumps(record))
    ranked = [(g.budget, g.without_budget) for g in compare(sweep).groups]
    assert ranked == [
        (8, "regime=head"),
        (8, "regime=full"),
        (64, "regime=full"),
        (64, "regime=head"),
        (None, "regime=head"),
    ]


def test_a_long_group_name_is_printed_whole_on_a_narrow_terminal(tmp_path: Path, capsys) -> None:
    names = ["model.optimizer.lr=0.001,regime=full", "model.optimizer.lr=0.0001,regime=head"]
    for seed in range(2):
        for name in names:
            make_job(tmp_path / "sweep", [*name.split(","), f"seed={seed}"], 0.8)
    compare_and_report(tmp_path / "sweep", Console(width=60))
    rows = [line.split("│") for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    first_column = "".join(cells[1].strip() for cells in rows)  # a folded name goes on over lines
    assert all(name in first_column for name in names) and "…" not in first_column


def test_overrides_are_read_as_typed_never_resolved(tmp_path: Path, monkeypatch) -> None:
    """A single run stores ``data.val_per_class=${data.train_per_class}`` unescaped (a multirun escapes
    it); reading a folder resolves nothing in it, not even an ``oc.env`` lookup."""
    monkeypatch.setenv("HEADSWAP_TEST_SECRET", "resolved")
    sweep = tmp_path / "runs"
    for seed in range(2):
        for regime in ("head", "full"):
            typed = ["data.train_per_class=8", "data.val_per_class=${data.train_per_class}"]
            make_job(sweep, [*typed, f"x=${{oc.env:HEADSWAP_TEST_SECRET}}{regime}", f"seed={seed}"], 0.7)
    names = {g.name for g in compare(sweep).groups}
    assert names == {"x=${oc.env:HEADSWAP_TEST_SECRET}head", "x=${oc.env:HEADSWAP_TEST_SECRET}full"}


@pytest.mark.parametrize("data", [b"regime: head\n", b"- [regime=head\n", b"- 3\n", b"- regime=\xff\n"])
def test_an_overrides_file_that_is_not_a_list_of_overrides_is_named(tmp_path: Path, data: bytes) -> None:
    job = make_job(tmp_path / "runs", ["regime=head", "seed=0"], 0.7)
    (job / ".hydra" / "overrides.yaml").write_bytes(data)
    with pytest.raises(DataError, match="overrides.yaml"):
        compare(tmp_path / "runs")


def test_runs_without_validation_follow_a_learning_curve_of_their_own(tmp_path: Path) -> None:
    sweep = tmp_path / "budgets"
    for k in (8, 16):
        for val in (0, k):
            job = make_job(
                sweep, [f"data.train_per_class={k}", f"data.val_per_class={val}", "regime=head"], 0.7
            )
            record = json.loads((job / "metrics.json").read_text())
            record["data"]["budget"] = {"train_per_class": k, "val_per_class": val, "sample_seed": 0}
            if val == 0:
                record.update(best_val=None, monitor=None)
            (job / "metrics.json").write_text(json.dumps(record))
    lines: dict[str, list[int | None]] = {}
    for group in compare(sweep).groups:
        lines.setdefault(group.without_budget, []).append(group.budget)
    assert {line: sorted(budgets) for line, budgets in lines.items()} == {
        "(all runs)": [8, 16],
        "no validation": [8, 16],
    }


def test_a_sweep_over_budgets_draws_its_learning_curve_and_a_table_per_budget(tmp_path: Path) -> None:
    sweep = budget_sweep(tmp_path)
    compare_and_report(sweep)
    assert (sweep / "learning_curve.png").stat().st_size > 0
    tables = (sweep / "comparison.md").read_text().split("## Paired by seed")[1:]
    assert len(tables) == 2 and "data.train_per_class=16" not in tables[0]  # 8 labels a class first
    one = tmp_path / "one"
    for seed in range(2):
        for regime, f1 in (("head", 0.6), ("full", 0.7)):
            make_job(one, [f"regime={regime}", f"seed={seed}"], f1)
    compare_and_report(one)
    assert (one / "comparison.md").read_text().count("## Paired by seed") == 1
    assert not (one / "learning_curve.png").exists()  # one budget: no curve to draw
