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
    "task.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "errors.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    "seeding.py": FRAMEWORKS | {"torch", "headswap.lit"} | EDGE,
    # pure functions of tensors: torchmetrics' functional metrics, no Lightning, no Hydra
    "scoring.py": (FRAMEWORKS - {"torchmetrics"}) | {"headswap.lit"} | EDGE,
    "calibration.py": (FRAMEWORKS - {"torchmetrics"}) | {"headswap.lit"} | EDGE,
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


JOBS = ("train", "pretrain", "demo", "baseline", "compare", "predict", "export", "serve")


def test_jobs_holds_the_entry_points_and_nothing_else() -> None:
    assert {p.stem for p in (SRC / "jobs").glob("*.py")} == {"__init__", *JOBS}


@pytest.mark.parametrize("job", JOBS)
def test_no_job_imports_another(job: str) -> None:
    others = {f"headswap.jobs.{j}" for j in JOBS if j != job}
    assert not imports(SRC / "jobs" / f"{job}.py") & others


def test_each_script_runs_its_job() -> None:
    """A script calls its command's function: the Hydra jobs' from ``headswap.cli`` (what ``headswap
    <job>`` runs), the others' ``main`` from their job module."""
    for script in (SRC.parents[1] / "scripts").glob("*.py"):
        tree = ast.parse(script.read_text())
        imported = {
            (n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names
        }
        assert ("headswap.cli", script.stem) in imported or ("headswap.jobs", script.stem) in imported, script
