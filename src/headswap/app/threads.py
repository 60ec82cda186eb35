"""How many threads torch uses in a job: the CPUs it may run on, less those other work keeps busy.

Torch's default, one thread per core, is fastest on an idle machine and far slower on a shared one: its
threads wait for each other, and one of them waits on a core another process holds (a MiniLM forward on
2 cores beside one busy process: 2.6x its time alone with 2 threads, 2.1x with 1; docs/results.md). So a
job counts the CPUs it may use (affinity, a cgroup's quota), measures for a fifth of a second how busy
other processes keep them, and takes one thread per CPU left free (at least one). Under a parallel
launcher its jobs share the CPUs instead; ``threads=N`` decides outright. Chosen once, before any model
work, in ``choose``, and applied by ``use``; the settings line says what was chosen and why.

OpenMP's wait policy is left as it is: ``OMP_WAIT_POLICY=PASSIVE`` helped 2 threads beside a busy process
less than 1 thread did, and cost 5-10% alone (docs/results.md), and it is read when torch loads, before
any job could choose it.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch

SAMPLE_SECONDS = 0.2  # long enough to see a busy process, short beside any job's start-up
PROC_STAT = Path("/proc/stat")
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    why: str  # for the settings line: "set", "2 CPUs, 1.0 busy with other work", ...


def use(choice: ThreadChoice) -> ThreadChoice:
    """Torch's pool at ``choice.threads``, and the same count for what this process starts or loads later
    (``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` for child processes; onnxruntime is told by its caller)."""
    torch.set_num_threads(choice.threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(choice.threads)
    return choice


def choose(setting: int | None = None, jobs: int | None = None) -> ThreadChoice:
    """``threads=N`` (``setting``) if given; ``jobs`` parallel jobs share the CPUs; else the free ones."""
    cpus = available_cpus()
    if setting is not None:
        return ThreadChoice(setting, "threads=N")
    if jobs is not None:
        return ThreadChoice(
            max(1, cpus // (cpus if jobs < 1 else jobs)), f"{cpus} CPUs shared by {jobs} jobs"
        )
    busy = busy_cpus()
    return ThreadChoice(
        max(1, min(cpus, round(cpus - busy))), f"{cpus} CPUs, {busy:.1f} busy with other work"
    )


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity), capped by a cgroup's CPU quota where there is one."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = CGROUP_CPU_MAX.read_text().split()[:2]
    except (OSError, ValueError):
        return cpus
    return cpus if quota == "max" else max(1, min(cpus, math.ceil(int(quota) / int(period))))


def busy_cpus() -> float:
    """How many of this process's CPUs other processes kept busy over ``SAMPLE_SECONDS`` (this one sleeps
    meanwhile); 0.0 where the OS does not say (no /proc)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        before = _cpu_times(PROC_STAT, cpus)
        time.sleep(SAMPLE_SECONDS)
        after = _cpu_times(PROC_STAT, cpus)
    except (OSError, ValueError, IndexError):
        return 0.0
    busy, total, n = after[0] - before[0], after[1] - before[1], after[2]
    return max(0.0, busy / (total / n)) if total and n else 0.0


def _cpu_times(stat: Path, cpus: set[int] | None) -> tuple[int, int, int]:
    """(busy, total) jiffies summed over ``cpus`` (all where None), busy being total less idle and iowait,
    and how many CPUs were summed."""
    busy = total = n = 0
    for line in stat.read_text().splitlines():
        name, *values = line.split()
        if not name.startswith("cpu") or name == "cpu" or (cpus is not None and int(name[3:]) not in cpus):
            continue
        fields = [int(x) for x in values]
        busy, total, n = busy + sum(fields) - fields[3] - fields[4], total + sum(fields), n + 1
    return busy, total, n
