"""What every ``skillpath`` command shares, written once: the engine, JSON output, error
handling and progress bars.

``engine/cli.py`` and the evaluation commands (which register onto the CLI through the
``skillpath.commands`` entry point group) both import from here, so neither imports the
other. Tests substitute their session engine by patching ``service`` where a command
module imported it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from skillpath.engine.errors import SkillpathError
from skillpath.engine.service import Skillpath

console = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RayAddressOpt = Annotated[
    str | None, typer.Option("--address", help="An existing Ray cluster (ray://… or auto).")
]
RayWorkersOpt = Annotated[
    int | None, typer.Option("--workers", min=1, help="Ray actors (default: cluster CPUs).")
]
KOpt = Annotated[int, typer.Option("-k", "--top", min=1, max=1000, help="How many results.")]

EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    SkillpathError,
    ValueError,
    KeyError,
    RuntimeError,
    OSError,
)
"""What a command reports as one line instead of a traceback: the engine's own errors and
the builtins its lower layers still raise (a missing file, a bad value)."""


def service() -> Skillpath:
    """The facade a command uses, configured from the environment (``SKILLPATH_*``)."""
    return Skillpath()


def to_jsonable(value: Any) -> Any:
    """Dataclasses, pydantic models, paths and containers of them, as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")


@contextmanager
def errors() -> Iterator[None]:
    """Turn the expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except EXPECTED_ERRORS as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A progress-bar factory on stderr: ``factory(description, total)`` → ``advance(n)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as progress:

        def factory(description: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(description, total=total)
            return lambda n: progress.advance(task, n)

        yield factory
