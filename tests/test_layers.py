"""The import contract (pyproject ``[tool.importlinter]``) holds, and it would catch a break.

Runs the real ``lint-imports`` through tools/lint_imports.py, on the tree and on copies with
one upward import or one cycle added.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# every folder the wheel maps under ``skillpath`` (a new layer is copied without a test edit)
_PACKAGE_DIRS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-dir"
]
FOLDERS = sorted({d.split("/")[0] for d in _PACKAGE_DIRS.values()})


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "lint_imports.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The package sources and pyproject.toml, copied (Python files only)."""
    for folder in FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=_not_python)
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    return tmp_path


def _not_python(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()}


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_tree_keeps_every_contract():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(copy):
    _append(copy / "engine" / "gap.py", "import skillpath.engine.service  # noqa")
    result = lint(copy)
    assert result.returncode != 0
    assert "skillpath.engine.gap is not allowed to import skillpath.engine.service" in result.stdout


def test_the_engine_importing_the_cli_or_evaluation_breaks(copy):
    _append(copy / "engine" / "service.py", "import skillpath.evaluation.metrics  # noqa")
    result = lint(copy)
    assert result.returncode != 0
    assert "The engine imports nothing" in result.stdout and "BROKEN" in result.stdout


def test_a_cycle_inside_one_layer_breaks(copy):
    # records is imported by store; importing store back closes a cycle within esco/
    _append(copy / "esco" / "records.py", "import skillpath.esco.store  # noqa")
    result = lint(copy)
    assert result.returncode != 0
    assert "No import cycles" in result.stdout and "BROKEN" in result.stdout
