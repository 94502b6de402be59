"""Run ``lint-imports`` (import-linter) over the package as it installs.

The folders sit at the repository top and setuptools maps them under ``skillpath`` on install
(``[tool.setuptools.package-dir]``), so there is no ``skillpath/engine`` folder for the import
graph builder to walk. This script lays the package out as installed, with symlinks in a
temporary folder, and runs ``lint-imports`` with the contracts in pyproject.toml there.

    python tools/lint_imports.py [--root REPO] [lint-imports options]

Exit status: lint-imports' own (0 when every contract is kept).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path


def layout(root: Path, into: Path) -> Path:
    """Symlink each mapped folder of ``root`` to where it installs; the package folder."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    top = into / "skillpath"
    top.mkdir(parents=True)
    for name in (root / mapping["skillpath"]).glob("*.py"):
        (top / name.name).symlink_to(name.resolve())
    for package, folder in sorted(mapping.items()):
        parts = package.split(".")
        if len(parts) != 2:  # sub-packages (engine.catalogue) come with their parent
            continue
        (top / parts[1]).symlink_to((root / folder).resolve(), target_is_directory=True)
    return top


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    if argv[:1] == ["--root"]:
        root, argv = Path(argv[1]).resolve(), argv[2:]
    linter = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    with tempfile.TemporaryDirectory(prefix="skillpath-layers-") as tmp:
        layout(root, Path(tmp))
        env = {**os.environ, "PYTHONPATH": tmp}
        config = str(root / "pyproject.toml")
        return subprocess.call([linter, config, "--no-cache", *argv], cwd=tmp, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
