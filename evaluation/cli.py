"""``skillpath evaluate skills`` and ``skillpath evaluate titles``.

``evaluate_app`` is a typer sub-app holding both commands (mount it with
``app.add_typer(evaluate_app, name="evaluate")``); ``register(app)`` adds the same two
commands to an existing ``evaluate`` app instead. Tables by default, ``--json`` for every
number; errors print one line on stderr and exit 1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from skillpath.engine.clikit import console, service
from skillpath.engine.clikit import errors as _errors
from skillpath.engine.clikit import print_json as _print_json
from skillpath.evaluation.judged_cli import judged_command
from skillpath.evaluation.skills_eval import (
    METHODS,
    SkillSplitResult,
    default_files,
    evaluate_skill_file,
)
from skillpath.evaluation.skills_eval import macro_average as skill_macro_average
from skillpath.evaluation.titles_eval import METHODS as TITLE_METHODS
from skillpath.evaluation.titles_eval import TitleResult, evaluate_title_file, macro_average

evaluate_app = typer.Typer(
    help="Benchmark the matcher on the public development splits.", no_args_is_help=True
)
__all__ = ["evaluate_app", "register", "service"]  # tests patch ``service`` here

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def skill_table(results: list[SkillSplitResult]) -> Table:
    table = Table(title="Skill extraction (WorkRB protocol; RP@k and MRR in %)")
    for column in ("split", "queries", "gold", "method", "RP@5", "RP@10", "MRR"):
        table.add_column(column, justify="left" if column in ("split", "method") else "right")
    for r in results:
        for method, s in r.scores.items():
            table.add_row(
                r.name,
                f"{r.queries:,}",
                f"{r.gold_pairs:,}",
                method,
                _pct(s["RP@5"]),
                _pct(s["RP@10"]),
                _pct(s["MRR"]),
            )
    return table


def extraction_table(results: list[SkillSplitResult]) -> Table:
    table = Table(title="extract_skills as a set predictor (micro over (sentence, skill) pairs)")
    for column in ("split", "threshold", "top_k", "predicted", "P", "R", "F1"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for r in results:
        e = r.extraction
        if e is None:
            continue
        table.add_row(
            r.name,
            f"{e.threshold:.3f}",
            str(e.top_k),
            f"{e.predicted_pairs:,}",
            f"{e.precision:.3f}",
            f"{e.recall:.3f}",
            f"{e.f1:.3f}",
        )
    return table


def title_table(result: TitleResult) -> Table:
    what = "fixed-seed sample of " if result.sampled else ""
    table = Table(title=f"Job titles: {what}{result.queries:,} titles from {result.path}")
    for column in ("method", "MRR", "R@1", "R@5", "R@10"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, s in result.scores.items():
        table.add_row(method, f"{s['MRR']:.3f}", _pct(s["R@1"]), _pct(s["R@5"]), _pct(s["R@10"]))
    return table


@evaluate_app.command("skills")
def skills_command(
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="Benchmark CSV(s) (annotations or SkillSkape format). "
            "Default: TECH val, HOUSE val, SkillSkape dev.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N queries per file.")
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help=f"Methods to score (default: {', '.join(METHODS)})."),
    ] = None,
    no_extraction: Annotated[
        bool, typer.Option("--no-extraction", help="Skip the set-prediction scores.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """RP@5, RP@10, MRR per split, the zero-shot MiniLM baseline side by side."""
    methods = tuple(method or METHODS)
    with _errors():
        sp = service()
        paths = {p.stem: p for p in files} if files else default_files(sp.settings.shared_dir)
        results = [
            evaluate_skill_file(sp, path, name, methods, not no_extraction, limit)
            for name, path in paths.items()
        ]
    macro = skill_macro_average(results)
    if as_json:
        if len(results) == 1 or not files:
            _print_json([dataclasses.asdict(r) for r in results])
        else:
            _print_json({"files": [dataclasses.asdict(r) for r in results], "macro": macro})
        return
    console.print(skill_table(results))
    if len(results) > 1:
        console.print(
            macro_table(
                f"Macro average over {len(results)} files (in %)", macro, ["RP@5", "RP@10", "MRR"]
            )
        )
    if not no_extraction:
        console.print(extraction_table(results))


def macro_table(title: str, averages: dict[str, dict[str, float]], metrics: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("method")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for method, s in averages.items():
        table.add_row(
            method, *[f"{s[m]:.3f}" if m == "MRR" and "R@1" in s else _pct(s[m]) for m in metrics]
        )
    return table


@evaluate_app.command("titles")
def titles_command(
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="JobBERT-format CSV(s), repeat -f for several (e.g. the MELO files). "
            "Default: the JobBERT validation split.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="Score a fixed-seed random sample of N titles."),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help=f"Methods to score (default: {', '.join(TITLE_METHODS)})."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """MRR and recall@1/5/10 of ESCO occupations for job titles, baselines side by side;
    with several files, also their macro average (each file weighs the same)."""
    methods = tuple(method or TITLE_METHODS)
    with _errors():
        sp = service()
        paths = files or [sp.settings.shared_dir / "bench/job-titles/jobbert-validation.csv"]
        results = [evaluate_title_file(sp, path, limit, methods) for path in paths]
        macro = macro_average(results)
    if as_json:
        if len(results) == 1:
            _print_json(results[0])
        else:
            _print_json({"files": [dataclasses.asdict(r) for r in results], "macro": macro})
        return
    for result in results:
        console.print(title_table(result))
    if len(results) > 1:
        console.print(
            macro_table(
                f"Macro average over {len(results)} files", macro, ["MRR", "R@1", "R@5", "R@10"]
            )
        )


evaluate_app.command("judged")(judged_command)


def register(app: typer.Typer) -> None:
    """Add ``skills``, ``titles`` and ``judged`` to an existing ``evaluate`` typer app."""
    app.command("skills")(skills_command)
    app.command("titles")(titles_command)
    app.command("judged")(judged_command)
