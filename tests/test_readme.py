"""The README is the manual: its layout table names exactly the packages under src/headswap, and every
command it shows runs a script that exists with overrides that compose."""

from __future__ import annotations

import re
import shlex

import pytest
from hydra import compose, initialize_config_dir

from .conftest import CONF, ROOT

README = (ROOT / "README.md").read_text()
HYDRA_SCRIPTS = {"train", "demo", "pretrain", "baseline", "bench"}


def layout_section() -> str:
    return README.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_layout_table_names_every_package_and_no_other() -> None:
    packages = {p.parent.name for p in (ROOT / "src" / "headswap").glob("*/__init__.py")}
    named = set(re.findall(r"`headswap\.(\w+)`", layout_section()))
    assert packages <= named, f"missing from the README's layout table: {sorted(packages - named)}"
    modules = {p.stem for p in (ROOT / "src" / "headswap").glob("*.py")} - {"__init__"}
    assert named <= packages | modules, f"named but absent: {sorted(named - packages - modules)}"


def commands(form: str | None = None) -> list[tuple[str, list[str]]]:
    """Every ``python scripts/X.py ...`` and ``headswap X ...`` line of the README's shell blocks (only
    one ``form``: "script" or "headswap"): (job, arguments)."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.splitlines():
            words = (
                shlex.split(line.split("  #")[0]) if line.startswith(("python scripts/", "headswap ")) else []
            )
            if words[:1] == ["python"] and form in (None, "script"):
                found.append((words[1].removeprefix("scripts/").removesuffix(".py"), words[2:]))
            elif words[:1] == ["headswap"] and form in (None, "headswap"):
                found.append((words[1], words[2:]))
    return found


@pytest.mark.parametrize("form", ["script", "headswap"])
def test_the_readme_shows_every_job_in_both_forms(form: str) -> None:
    shown = {job for job, _ in commands(form)}
    assert shown >= {p.stem for p in (ROOT / "scripts").glob("*.py")}


@pytest.mark.parametrize(("script", "args"), [c for c in commands() if c[0] in HYDRA_SCRIPTS])
def test_each_readme_command_composes(script: str, args: list[str]) -> None:
    overrides = [a.split(",")[0] for a in args if a != "-m" and "=" in a]  # a sweep: its first job
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(script, overrides=overrides)
    assert cfg.task_name == script
