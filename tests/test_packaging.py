"""The wheel installs one top-level name, ``skillpath``, so it shadows nothing of its users'."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.build  # pip builds a wheel / an editable install


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("skillpath-*.whl")
    return found


def test_wheel_has_one_top_level_name(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"skillpath"}
    # The layers are all inside it, with the data files the code reads at run time.
    for path in (
        "skillpath/engine/service.py",
        "skillpath/api/static/index.html",
        "skillpath/engine/catalogue/mappings/coursera.toml",
        "skillpath/models/artifacts/skills-minilm.npz",
        "skillpath/evaluation/samples/learners-v1.json",
    ):
        assert path in names, path


def test_wheel_entry_point_names_the_namespaced_cli(wheel):
    archive = zipfile.ZipFile(wheel)
    (entry,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    assert "skillpath = skillpath.engine.cli:app" in archive.read(entry).decode()


def test_editable_install_resolves_every_layer_outside_the_checkout(tmp_path):
    # Run from elsewhere, so the checkout folder on sys.path cannot answer for the install.
    code = (
        "import skillpath.engine.service, skillpath.api.app, skillpath.evaluation.cli, "
        "skillpath.esco.store, skillpath.models.encoder; "
        "print(skillpath.engine.service.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert Path(done.stdout.strip()).resolve() == REPO / "engine" / "service.py"


def test_wheel_registers_the_evaluate_commands_as_a_plugin(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (entry,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        text = archive.read(entry).decode()
    assert "[skillpath.commands]" in text
    assert "evaluate = skillpath.evaluation.commands:register" in text


def test_the_real_cli_mounts_every_evaluate_command_from_the_entry_point():
    cli = Path(sys.executable).with_name("skillpath")
    done = subprocess.run(
        [str(cli), "evaluate", "--help"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for command in ("skills", "titles", "judged", "recommend", "all"):
        assert f" {command} " in done.stdout, done.stdout
    assert "skipped command plugin" not in done.stderr
