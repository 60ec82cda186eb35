"""The architecture, checked: each layer imports only the layers below it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "headswap"
FRAMEWORKS = {"lightning", "pytorch_lightning", "hydra", "omegaconf", "torchmetrics"}
# the Hydra edge, bottom up
EDGE = {"headswap.app", "headswap.training", "headswap.sweeps", "headswap.serving", "headswap.jobs"}
# layer -> what it must not import
FORBIDDEN = {
    "model": FRAMEWORKS | {"headswap.data", "headswap.lit"} | EDGE,
    "data": FRAMEWORKS | {"torch", "headswap.model", "headswap.lit"} | EDGE,
    "io.py": FRAMEWORKS | {"headswap.lit"} | EDGE,
    "report.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "stats.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "run_record.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "mistakes.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "lit": {"hydra", "omegaconf"} | EDGE,
    # the edge: the app shell, then the training recipe and the sweeps (neither knows the other), serving
    # (on the training recipe), then jobs
    "app": {"headswap.training", "headswap.sweeps", "headswap.serving", "headswap.jobs"},
    "training": {"headswap.sweeps", "headswap.serving", "headswap.jobs"},
    "sweeps": {"headswap.training", "headswap.serving", "headswap.jobs", "headswap.lit"},
    "serving": {"headswap.sweeps", "headswap.jobs"},  # serves what training wrote, with the app shell
}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:  # `from a import b` may import module a.b
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("layer", FORBIDDEN)
def test_layer_imports_only_what_is_below_it(layer: str) -> None:
    files = [SRC / layer] if layer.endswith(".py") else sorted((SRC / layer).glob("*.py"))
    assert files
    for path in files:
        bad = {n for n in imports(path) for f in FORBIDDEN[layer] if n == f or n.startswith(f + ".")}
        assert not bad, f"{path.name} imports {bad}"


JOBS = ("train", "pretrain", "demo", "bench", "baseline", "compare", "predict", "export", "serve")


def test_jobs_holds_the_entry_points_and_nothing_else() -> None:
    assert {p.stem for p in (SRC / "jobs").glob("*.py")} == {"__init__", *JOBS}


@pytest.mark.parametrize("job", JOBS)
def test_no_job_imports_another(job: str) -> None:
    others = {f"headswap.jobs.{j}" for j in JOBS if j != job}
    assert not imports(SRC / "jobs" / f"{job}.py") & others


def test_scripts_are_thin_and_import_nothing_for_its_side_effects() -> None:
    """A script imports its job and the app shell; registering configs is a call, not an import."""
    for script in (SRC.parents[1] / "scripts").glob("*.py"):
        text = script.read_text()
        assert "noqa: F401" not in text, script.name
        assert f"from headswap.jobs import {script.stem}" in text, script.name


def test_comparison_modules_do_not_import_each_other() -> None:
    """What a job and a group are lives in ``multirun``; ``plots`` draws them without the comparison."""
    sweeps = SRC / "sweeps"
    assert not imports(sweeps / "multirun.py") & {"headswap.sweeps.comparison", "headswap.sweeps.plots"}
    assert "headswap.sweeps.comparison" not in imports(sweeps / "plots.py")
