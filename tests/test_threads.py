"""How many threads a job uses: chosen once from the CPUs it may use, how busy other work keeps them, a
parallel launcher's jobs, or ``threads=N``, which wins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from headswap.app import runtime, threads

from .conftest import compose_cfg


def stat_lines(busy: dict[int, int], idle: dict[int, int]) -> str:
    """A /proc/stat with per-CPU jiffies: user=busy, idle=idle (iowait 0)."""
    total = ["cpu  0 0 0 0 0 0 0 0 0 0"]
    cpus = [f"cpu{n} {busy[n]} 0 0 {idle[n]} 0 0 0 0 0 0" for n in sorted(busy)]
    return "\n".join([*total, *cpus, "intr 1 2 3"]) + "\n"


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A mocked machine: ``machine(cpus, busy)`` gives it that many CPUs, CPU n kept busy ``busy[n]`` of
    the sampled time by other processes, and no cgroup quota."""
    stat = tmp_path / "stat"
    monkeypatch.setattr(threads, "PROC_STAT", stat)
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", tmp_path / "no-cgroup")
    monkeypatch.setattr(threads, "SAMPLE_SECONDS", 0.0)

    def set_machine(cpus: int, busy: list[float]) -> None:
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
        start = stat_lines({n: 0 for n in range(cpus)}, {n: 0 for n in range(cpus)})
        end = stat_lines(
            {n: int(100 * b) for n, b in enumerate(busy)}, {n: 100 - int(100 * b) for n, b in enumerate(busy)}
        )
        samples = iter([start, end])
        real_read = Path.read_text
        monkeypatch.setattr(
            Path,
            "read_text",
            lambda path, *a, **k: next(samples) if path == stat else real_read(path, *a, **k),
        )

    return set_machine


def test_an_idle_machine_gets_a_thread_per_cpu(machine) -> None:
    machine(4, [0.0, 0.0, 0.0, 0.0])
    assert threads.choose().threads == 4


@pytest.mark.parametrize(("busy", "expected"), [([1.0, 0.0], 1), ([1.0, 1.0], 1), ([0.3, 0.0], 2)])
def test_cpus_other_work_keeps_busy_are_left_to_it(machine, busy: list[float], expected: int) -> None:
    machine(2, busy)
    choice = threads.choose()
    assert choice.threads == expected and f"{sum(busy):.1f} busy" in choice.why


def test_a_parallel_launcher_shares_the_cpus_among_its_jobs(machine) -> None:
    machine(8, [1.0] * 8)  # busy with the launcher's own jobs: not counted, they are sharing
    assert threads.choose(jobs=4).threads == 2
    assert threads.choose(jobs=16).threads == 1
    assert threads.choose(jobs=-1).threads == 1  # joblib's "one job per CPU"


def test_threads_n_wins_over_load_and_launcher(machine) -> None:
    machine(2, [1.0, 1.0])
    assert threads.choose(setting=3, jobs=2) == threads.ThreadChoice(3, "threads=N")


def test_a_cgroup_quota_caps_the_cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(threads, "CGROUP_CPU_MAX", quota)
    quota.write_text("250000 100000\n")  # 2.5 CPUs' worth
    assert threads.available_cpus() == 3
    quota.write_text("max 100000\n")
    assert threads.available_cpus() == 16


def test_a_job_uses_its_choice_and_tells_child_processes(
    machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    machine(2, [1.0, 0.0])
    cfg = compose_cfg(tmp_path, ["threads=null"])
    before = torch.get_num_threads()
    try:
        choice = runtime.configure_runtime(cfg)
        assert choice.threads == 1 and torch.get_num_threads() == 1
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
        assert cfg.threads_chosen.startswith("1 (2 CPUs, 1.0 busy")
    finally:
        torch.set_num_threads(before)


def test_threads_n_in_the_config_wins(machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    machine(2, [1.0, 1.0])
    before = torch.get_num_threads()
    try:
        assert runtime.configure_runtime(compose_cfg(tmp_path, ["threads=2"])).threads == 2
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
    finally:
        torch.set_num_threads(before)
