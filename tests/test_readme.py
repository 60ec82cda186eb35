"""The README is the manual: its layout table names exactly the packages under src/headswap."""

from __future__ import annotations

import re

from .conftest import ROOT


def layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_layout_table_names_every_package_and_no_other() -> None:
    packages = {p.parent.name for p in (ROOT / "src" / "headswap").glob("*/__init__.py")}
    named = set(re.findall(r"`headswap\.(\w+)`", layout_section()))
    assert packages <= named, f"missing from the README's layout table: {sorted(packages - named)}"
    modules = {p.stem for p in (ROOT / "src" / "headswap").glob("*.py")} - {"__init__"}
    assert named <= packages | modules, f"named but absent: {sorted(named - packages - modules)}"


def test_readme_stays_a_manual() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) < 300
