"""The architecture, checked: each layer imports only the layers below it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "headswap"
FRAMEWORKS = {"lightning", "pytorch_lightning", "hydra", "omegaconf", "torchmetrics"}
# layer -> what it must not import
FORBIDDEN = {
    "model": FRAMEWORKS | {"headswap.data", "headswap.lit", "headswap.jobs"},
    "data": FRAMEWORKS | {"torch", "headswap.model", "headswap.lit", "headswap.jobs"},
    "io.py": FRAMEWORKS | {"headswap.lit", "headswap.jobs"},
    "report.py": FRAMEWORKS | {"torch", "headswap.lit", "headswap.jobs"},
    "stats.py": FRAMEWORKS | {"torch", "headswap.lit", "headswap.jobs"},
    "run_record.py": FRAMEWORKS | {"torch", "headswap.lit", "headswap.jobs"},
    "lit": {"hydra", "omegaconf", "headswap.jobs"},
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


JOBS = ("train", "pretrain", "demo", "bench", "baseline", "compare", "predict", "export")


@pytest.mark.parametrize("job", JOBS)
def test_no_job_imports_another(job: str) -> None:
    others = {f"headswap.jobs.{j}" for j in JOBS if j != job}
    assert not imports(SRC / "jobs" / f"{job}.py") & others


def test_comparison_modules_do_not_import_each_other() -> None:
    """What a job and a group are lives in ``multirun``; ``plots`` draws them without knowing ``compare``."""
    jobs = SRC / "jobs"
    assert not imports(jobs / "multirun.py") & {"headswap.jobs.compare", "headswap.jobs.plots"}
    assert "headswap.jobs.compare" not in imports(jobs / "plots.py")
    importers = {p.name for p in jobs.glob("*.py") if {"headswap.jobs.compare"} & imports(p)}
    assert importers <= {"sweep.py"}  # the multirun-end callback runs it; no job borrows from it
