"""``skillpath evaluate …``: the evaluation layer's commands, registered onto the CLI from above.

pyproject.toml names :func:`register` in the ``skillpath.commands`` entry point group;
``engine/cli.py`` calls every entry of that group with its root app (as datasette loads its
plugins), so the engine's CLI never imports the evaluation.
"""

from __future__ import annotations

import typer

from skillpath.evaluation import recommend_cli
from skillpath.evaluation.cli import evaluate_app


def register(app: typer.Typer) -> None:
    """Mount ``evaluate skills|titles|judged|recommend|all`` on the root ``skillpath`` app."""
    recommend_cli.register(evaluate_app)
    app.add_typer(evaluate_app, name="evaluate")
