"""The ``skillpath`` command: a thin layer over :class:`engine.service.Skillpath`.

Every read command prints a rich table by default and JSON with ``--json``; errors print one
clear line on stderr and exit non-zero instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from engine.service import Skillpath

app = typer.Typer(
    help="Recommend micro-credentials that close an ESCO skill gap.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
esco_app = typer.Typer(help="The ESCO taxonomy: ingest it into the store.", no_args_is_help=True)
index_app = typer.Typer(
    help="FAISS indexes over ESCO skills and occupations.", no_args_is_help=True
)
skills_app = typer.Typer(help="Search ESCO skills.", no_args_is_help=True)
occupations_app = typer.Typer(help="Search and show ESCO occupations.", no_args_is_help=True)
app.add_typer(esco_app, name="esco")
app.add_typer(index_app, name="index")
app.add_typer(skills_app, name="skills")
app.add_typer(occupations_app, name="occupations")

console = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
KOpt = Annotated[int, typer.Option("-k", "--top", min=1, max=1000, help="How many results.")]


def service() -> Skillpath:
    return Skillpath()


def to_jsonable(value: Any) -> Any:
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
    """Turn the engine's expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except (ValueError, KeyError, RuntimeError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
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


# -- esco -------------------------------------------------------------------------------
@esco_app.command("ingest")
def esco_ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="ESCO CSV download(s): zips or folders. Default: ../shared/esco."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Re-ingest even if unchanged.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Load the official ESCO CSV download into the SQLite store (idempotent)."""
    with errors():
        started = time.perf_counter()
        summary = service().ingest_esco(paths or None, force=force)
        seconds = time.perf_counter() - started
    if as_json:
        print_json({**dataclasses.asdict(summary), "seconds": round(seconds, 2)})
        return
    table = Table(title=f"ESCO {summary.version} ({summary.language}) ingested in {seconds:.1f}s")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, value in (
        ("skills", summary.skills),
        ("occupations", summary.occupations),
        ("occupation–skill relations", summary.occupation_skills),
        ("  essential", summary.essential),
        ("  optional", summary.optional),
        ("skill–skill relations", summary.skill_relations),
        ("broader relations", summary.broader),
        ("ISCO groups", summary.isco_groups),
        ("skill groups", summary.skill_groups),
    ):
        table.add_row(label, f"{value:,}")
    for name, n in summary.collections.items():
        table.add_row(f"collection {name}", f"{n:,}")
    console.print(table)
    if summary.unchanged:
        console.print("unchanged: the store already holds this download (use --force to redo)")
    for kind, n in summary.unknown_references.items():
        console.print(f"[yellow]skipped {n} row(s) of {kind}: URI not in this download[/yellow]")
    for example in summary.unknown_examples[:5]:
        console.print(f"  e.g. {example}", highlight=False)


# -- index ------------------------------------------------------------------------------
@index_app.command("build")
def index_build(as_json: JsonOpt = False) -> None:
    """Encode ESCO labels and descriptions and write the FAISS indexes (atomically)."""
    with errors():
        started = time.perf_counter()
        with progress_bars() as progress:
            manifests = service().build_indexes(progress)
        seconds = time.perf_counter() - started
    if as_json:
        print_json({"seconds": round(seconds, 2), "manifests": manifests})
        return
    table = Table(title=f"indexes built in {seconds:.1f}s")
    for column in ("bundle", "index", "vectors", "encoder", "ESCO"):
        table.add_column(column)
    for name, manifest in manifests.items():
        for key, count in manifest["counts"].items():
            table.add_row(name, key, f"{count:,}", manifest["encoder"], manifest["esco_version"])
    console.print(table)


# -- skills -----------------------------------------------------------------------------
@skills_app.command("search")
def skills_search(
    text: Annotated[str, typer.Argument(help="Text to match against ESCO skills.")],
    k: KOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """The ESCO skills closest to TEXT."""
    if not text.strip():
        raise typer.BadParameter("give some text to search for", param_hint="TEXT")
    with errors():
        hits = service().search_skills(text, k)
    if as_json:
        print_json(hits)
        return
    table = Table(title=f"ESCO skills for {text!r}")
    for column in ("#", "score", "skill", "type", "URI"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.label, hit.skill_type or "", hit.uri)
    console.print(table)


# -- occupations ------------------------------------------------------------------------
@occupations_app.command("search")
def occupations_search(
    title: Annotated[str, typer.Argument(help="A job title, in your words.")],
    k: KOpt = 10,
    as_json: JsonOpt = False,
) -> None:
    """The ESCO occupations closest to TITLE."""
    if not title.strip():
        raise typer.BadParameter("give a job title to search for", param_hint="TITLE")
    with errors():
        hits = service().search_occupations(title, k)
    if as_json:
        print_json(hits)
        return
    table = Table(title=f"ESCO occupations for {title!r}")
    for column in ("#", "score", "occupation", "ISCO", "URI"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.label, hit.isco_group or "", hit.uri)
    console.print(table)


@occupations_app.command("show")
def occupations_show(
    ref: Annotated[str, typer.Argument(help="An occupation URI or its exact label.")],
    as_json: JsonOpt = False,
) -> None:
    """An occupation with its essential and optional skills."""
    if not ref.strip():
        raise typer.BadParameter("give an occupation URI or label", param_hint="URI|LABEL")
    with errors():
        detail = service().occupation_detail(ref)
    if as_json:
        print_json(detail)
        return
    occ = detail.occupation
    console.print(f"[bold]{occ.preferred_label}[/bold]  {occ.uri}")
    console.print(f"ISCO {occ.isco_group} {detail.isco_label or ''}  ESCO code {occ.code}")
    if occ.description:
        console.print(occ.description, highlight=False)
    for relation, skills in (("essential", detail.essential), ("optional", detail.optional)):
        table = Table(title=f"{relation} skills ({len(skills)})")
        table.add_column("skill")
        table.add_column("type")
        table.add_column("URI")
        for skill in skills:
            table.add_row(skill.preferred_label, skill.skill_type or "", skill.uri)
        console.print(table)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
