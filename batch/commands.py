"""``skillpath batch …``: nightly batch recommendations and synthetic inputs for scale runs.

Registered onto the CLI through the ``skillpath.commands`` entry point group (pyproject),
as the evaluation registers ``evaluate``, so the engine's CLI never imports this layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillpath.engine import clikit

from .catalogue import register_engine
from .io import file_format, write_jsonl, write_parquet
from .run import run_batch
from .synthetic import learners, occupation_pool

batch_app = typer.Typer(help="Batch recommendations (local or on Ray).", no_args_is_help=True)


@batch_app.command("recommend")
def recommend(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help=".jsonl or .parquet")],
    out: Annotated[Path, typer.Option("--out", help="OUTPUT: .jsonl file or .parquet dir.")],
    engine: Annotated[str, typer.Option("--engine", help="local | ray")] = "local",
    address: clikit.RayAddressOpt = None,
    workers: clikit.RayWorkersOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000)] = 32,
) -> None:
    """Answer one recommendation request per INPUT row into OUTPUT, keyed by the row's id.

    Rows already in OUTPUT are skipped (resume); a bad row gets an error record.
    """
    with clikit.errors():
        file_format(input_path), file_format(out)  # fail early on an unknown suffix
        total = sum(1 for _ in _count_rows(input_path))
        with clikit.progress_bars() as bars:
            advance = bars("recommend", total)
            summary = run_batch(
                input_path,
                out,
                engine,
                service=clikit.service() if engine == "local" else None,
                address=address,
                workers=workers,
                batch_size=batch_size,
                progress=advance,
            )
        clikit.print_json(summary.as_dict())


def _count_rows(path: Path):
    from .io import read_input

    return read_input(path)


@batch_app.command("synthetic")
def synthetic(
    count: Annotated[int, typer.Argument(min=0, help="How many learners.")],
    out: Annotated[Path, typer.Option("--out", help=".jsonl or .parquet")],
    seed: Annotated[int, typer.Option("--seed")] = 20241129,
) -> None:
    """Write COUNT synthetic learners (moves between ESCO occupations) as batch input."""
    with clikit.errors():
        fmt = file_format(out)
        rows = learners(occupation_pool(clikit.service()), count, seed)
        n = write_parquet(out, list(rows)) if fmt == "parquet" else write_jsonl(out, rows)
        clikit.print_json({"rows": n, "out": str(out), "seed": seed})


def register(app: typer.Typer) -> None:
    """Mount ``batch recommend|synthetic`` on the root ``skillpath`` app, and name the Ray
    mapper ``ray`` for ``skillpath catalogue import --engine``."""
    app.add_typer(batch_app, name="batch")
    register_engine()
