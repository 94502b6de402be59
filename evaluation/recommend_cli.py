"""``skillpath evaluate recommend`` and ``skillpath evaluate all``.

``register(app)`` adds both commands to the ``evaluate`` typer app that
:mod:`skillpath.evaluation.commands` mounts on the CLI; the shared command helpers come from
:mod:`skillpath.engine.clikit` (the CLI itself is never imported).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from skillpath.engine.clikit import console, err, errors, print_json, progress_bars, service
from skillpath.engine.service import Skillpath
from skillpath.evaluation.judged_cli import judged_section
from skillpath.evaluation.judged_cli import summary_table as judged_summary_table
from skillpath.evaluation.recommend_eval import (
    DEFAULT_LENSES,
    LENSES,
    EvalConfig,
    run_recommend_eval,
)
from skillpath.evaluation.report import (
    MAIN_COLUMNS,
    fmt,
    ordered_methods,
    results_dir,
    write_report,
)
from skillpath.evaluation.simulate import SAMPLE_PATH, load_sample, quick_subset

QUICK_LEARNERS = 20


QuickOpt = Annotated[
    bool, typer.Option("--quick", help=f"CI mode: the first {QUICK_LEARNERS} learners only.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print every number as JSON.")]
LearnersOpt = Annotated[
    int | None, typer.Option("--learners", "-n", min=3, help="Use the first N learners.")
]
LensOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--lens",
        help="tag, text and/or model (default: tag and text; the model lens builds the e5 "
        "index on first use, ~30 min on two cores).",
    ),
]
SampleOpt = Annotated[Path, typer.Option(help="Saved learner sample.")]
ModelSampleOpt = Annotated[
    int,
    typer.Option(
        "--model-sample",
        min=0,
        help="Credentials the model lens reads (fixed-seed sample; 0 = all, up to an hour).",
    ),
]


def _learners(sample: Path, quick: bool, n: int | None) -> list[Any]:
    learners = load_sample(sample).learners
    if quick:
        n = min(n or QUICK_LEARNERS, QUICK_LEARNERS)
    return quick_subset(learners, n) if n else learners


def _lenses(lens: list[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(lens or DEFAULT_LENSES))
    bad = [x for x in chosen if x not in LENSES]
    if bad:
        raise typer.BadParameter(f"unknown lens {bad[0]!r}; use {', '.join(LENSES)}")
    return chosen


def evaluate_recommendations(
    service: Skillpath,
    learners: list[Any],
    lenses: tuple[str, ...] = DEFAULT_LENSES,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    model_sample: int | None = EvalConfig.model_sample,
) -> dict[str, Any]:
    """Library entry point (tests call it): the recommendation part of the report."""
    config = EvalConfig(lenses=lenses, model_sample=model_sample or None)
    return run_recommend_eval(service, learners, config, progress)


RANK_COLUMNS = ("nDCG@10", "MAP", "recall@10", "MRR")


def print_tables(result: dict[str, Any]) -> None:
    for name, lens in result["lenses"].items():
        title = (
            f"{name} lens — pool {lens['pool_size']:,}, "
            f"{lens['learners_with_relevant']}/{lens['learners']} learners with a relevant item"
        )
        for part, columns in (
            ("ranking", [(k, k) for k in RANK_COLUMNS]),
            ("gap", [(k, label) for k, label in MAIN_COLUMNS if k not in RANK_COLUMNS]),
        ):
            table = Table(
                title=f"{title}: {part}", caption=lens["description"] if part == "gap" else None
            )
            table.add_column("method")
            for _, label in columns:
                table.add_column(label, justify="right")
            if part == "ranking":
                table.add_column("p50 ms", justify="right")
            for m in ordered_methods(lens["methods"]):
                o = lens["methods"][m]["overall"]
                cells = [fmt(o.get(key)) for key, _ in columns]
                if part == "ranking":
                    cells.append(f"{lens['methods'][m]['latency']['p50'] * 1000:.1f}")
                table.add_row(m, *cells)
            console.print(table)
        st = Table(title=f"{name} lens per stratum: nDCG@10 / gap coverage@10")
        st.add_column("method")
        for s in ("near", "mid", "far"):
            st.add_column(s, justify="right")
        for m in ordered_methods(lens["methods"]):
            strata = lens["methods"][m]["strata"]
            st.add_row(
                m,
                *(
                    f"{fmt(strata.get(s, {}).get('nDCG@10'))} / "
                    f"{fmt(strata.get(s, {}).get('gap_coverage@10'))}"
                    for s in ("near", "mid", "far")
                ),
            )
        console.print(st)


QUICK_SKILL_QUERIES = 50
QUICK_TITLES = 200


def skills_section(service: Skillpath, quick: bool) -> dict[str, Any]:
    """The skill-extraction evaluation (evaluation.skills_eval), every development split."""
    from skillpath.evaluation.skills_eval import default_files, evaluate_skill_file

    limit = QUICK_SKILL_QUERIES if quick else None
    return {
        name: dataclasses.asdict(evaluate_skill_file(service, path, name, limit=limit))
        for name, path in default_files(service.settings.shared_dir).items()
    }


def titles_section(service: Skillpath, quick: bool) -> dict[str, Any]:
    """The job-title evaluation (evaluation.titles_eval) on the JobBERT validation split."""
    from skillpath.evaluation.benchmarks import default_title_split
    from skillpath.evaluation.titles_eval import evaluate_title_file

    path = default_title_split(service.settings.shared_dir)
    limit = QUICK_TITLES if quick else None
    return dataclasses.asdict(evaluate_title_file(service, path, limit=limit))


def _other_eval(
    name: str, fn: Callable[[Skillpath, bool], dict[str, Any]], service: Skillpath, quick: bool
) -> dict[str, Any] | str:
    """Run another part of the evaluation; on failure, a line for the report's "Not run".

    A broken skills or titles benchmark must not cost the recommendation report, which
    took most of the run; the error is reported, not hidden.
    """
    try:
        return fn(service, quick)
    except Exception as exc:  # noqa: BLE001 - reported in the report and on the console
        return f"{name}: failed with {type(exc).__name__}: {exc}"


def register(app: typer.Typer) -> None:
    """Add ``recommend`` and ``all`` to the given ``evaluate`` typer app."""

    @app.command("recommend")
    def recommend(
        quick: QuickOpt = False,
        learners: LearnersOpt = None,
        lens: LensOpt = None,
        model_sample: ModelSampleOpt = EvalConfig.model_sample or 0,
        sample: SampleOpt = SAMPLE_PATH,
        out: Annotated[
            Path | None, typer.Option(help="Also write report.md + results.json here.")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Recommendation quality on simulated learners: skillpath vs baselines, three lenses."""
        lenses = _lenses(lens)  # a usage error before any work
        with errors():
            chosen = _learners(sample, quick, learners)
            with progress_bars() as progress:
                result = evaluate_recommendations(service(), chosen, lenses, progress, model_sample)
        if out:
            out.mkdir(parents=True, exist_ok=True)
            write_report(
                {"generated": _now(), "seconds": result["seconds"]["total"], "recommend": result},
                out,
                " ".join(["skillpath evaluate recommend", *sys.argv[3:]]),
            )
        if as_json:
            print_json(result)
        else:
            print_tables(result)

    @app.command("all")
    def run_all(
        quick: QuickOpt = False,
        learners: LearnersOpt = None,
        sample: SampleOpt = SAMPLE_PATH,
        results_root: Annotated[
            Path, typer.Option("--results", help="Folder for results/<timestamp>/.")
        ] = Path("results"),
        plots: Annotated[bool, typer.Option(help="Draw the matplotlib plots.")] = True,
        lens: LensOpt = None,
        model_sample: ModelSampleOpt = EvalConfig.model_sample or 0,
        as_json: JsonOpt = False,
    ) -> None:
        """Every evaluation (recommendation, skills, titles) into results/<timestamp>/."""
        started = time.perf_counter()
        results: dict[str, Any] = {"generated": _now(), "quick": quick, "todo": []}
        lenses = _lenses(lens)  # a usage error before any work
        with errors():
            sp = service()
            chosen = _learners(sample, quick, learners)
            err.print("running the judged evaluation…")  # it leads: people's grades come first
            judged = _other_eval("judged", judged_section, sp, quick)
            if isinstance(judged, str):
                results["todo"].append(judged)
            else:
                results["judged"] = judged
            with progress_bars() as progress:
                results["recommend"] = evaluate_recommendations(
                    sp, chosen, lenses, progress, model_sample
                )
            for key, fn in (("skills", skills_section), ("titles", titles_section)):
                t0 = time.perf_counter()
                err.print(f"running the {key} evaluation…")
                value = _other_eval(key, fn, sp, quick)
                if isinstance(value, str):
                    results["todo"].append(value)
                else:
                    results[key] = value
                    results.setdefault("section_seconds", {})[key] = time.perf_counter() - t0
            results["seconds"] = time.perf_counter() - started
            out = results_dir(results_root)
            command = " ".join(
                ["skillpath evaluate all", *(["--quick"] if quick else [])]
                + [f"--lens {x}" for x in (lens or [])]
                + ([f"--model-sample {model_sample}"] if "model" in (lens or []) else [])
            )
            files = write_report(results, out, command, plots=plots)
        if as_json:
            print_json(results)
            return
        if "judged" in results:
            console.print(judged_summary_table(results["judged"]))
        print_tables(results["recommend"])
        for todo in results["todo"]:
            console.print(f"[yellow]not run:[/yellow] {todo}", highlight=False)
        console.print(
            f"report: {files['report']}  numbers: {files['json']}  ({results['seconds']:.0f} s)",
            highlight=False,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main() -> None:  # pragma: no cover - the same commands without the rest of the CLI
    """``python -m skillpath.evaluation.recommend_cli all --quick``: the same commands, alone."""
    app = typer.Typer(help="Evaluate skillpath.", no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
