"""``skillpath evaluate judged``: recommendation lists scored against graded judgments.

The command itself; the scoring is in :mod:`skillpath.evaluation.judged`. It is registered
onto the ``evaluate`` app by evaluation/cli.py and leads ``evaluate all``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from skillpath.evaluation.judged import (
    METHODS,
    METRICS,
    JudgedFormatError,
    JudgedResult,
    check_methods,
    default_paths,
    load_cases,
    load_judgments,
    load_runs,
    merge_judgments,
    plot_judged,
    run_judged,
    score_runs,
)

QUICK_CASES = 8  # `evaluate all --quick`: enough to exercise every method, not to judge them

console = Console()
err = Console(stderr=True)


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _sig_cells(data: Mapping[str, Any], method: str) -> tuple[str, str]:
    sig = data["significance"].get(method, {}).get("nDCG@10")
    if not sig:
        return "—", "—"
    ps = " / ".join(_p(sig[k]) for k in ("p_t", "p_wilcoxon", "p_permutation"))
    return f"{-sig['mean_diff']:+.3f}", ps


def summary_table(data: Mapping[str, Any]) -> Table:
    """The means table of a judged run (``JudgedResult.to_dict()``)."""
    files = ", ".join(Path(f).name for f in data["judgment_files"])
    table = Table(
        title=f"Judged recommendations: {data['cases']} cases, {data['judged_pairs']:,} judged "
        f"pairs ({files})"
    )
    for column in ("method", *METRICS, f"Δ nDCG@10 vs {data['baseline']}", "p (t / W / perm)"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, means in data["methods"].items():
        table.add_row(method, *(f"{means[m]:.3f}" for m in METRICS), *_sig_cells(data, method))
    return table


def judged_markdown(data: Mapping[str, Any]) -> list[str]:
    """The judged section of the ``evaluate all`` report (it leads the report)."""
    lines = [
        "## Judged recommendations (people's grades)",
        "",
        f"{data['cases']} career moves, {data['judged_pairs']:,} graded (case, credential) "
        f"pairs from {', '.join(f'`{Path(f).name}`' for f in data['judgment_files'])}; grades "
        "0-3 against an advisor's rubric. nDCG with gain 2^grade-1 (ideal from the judged "
        "items), P@5 = share of the top 5 graded >= 2, unjudged@10 = share of the top 10 no "
        "one graded (counted 0: a method with many is under-measured). p: paired t / "
        f"Wilcoxon / permutation over cases, each method vs {data['baseline']}.",
        "",
        f"| method | {' | '.join(METRICS)} | Δ nDCG@10 | p |",
        "|---|" + "---:|" * (len(METRICS) + 2),
    ]
    for method, means in data["methods"].items():
        delta, ps = _sig_cells(data, method)
        cells = " | ".join(f"{means[m]:.3f}" for m in METRICS)
        lines.append(f"| {method} | {cells} | {delta} | {ps} |")
    return [*lines, ""]


def per_case_table(result: JudgedResult, targets: dict[str, str]) -> Table:
    table = Table(title="nDCG@10 per case (P@5 in brackets)")
    table.add_column("case")
    table.add_column("target")
    for method in result.methods:
        table.add_column(method, justify="right")
    for case_id in sorted(targets):
        row = [case_id, targets[case_id]]
        for method in result.methods:
            m = result.per_case[method][case_id]
            row.append(f"{m['nDCG@10']:.2f} ({m['P@5']:.1f})")
        table.add_row(*row)
    return table


def evaluate_judged(
    service: Any,
    cases_path: Path | None,
    judgment_paths: list[Path] | None,
    methods: list[str] | None,
    progress: Any = None,
    with_unjudged: bool = False,
    limit: int | None = None,
) -> tuple[JudgedResult, dict[str, str]]:
    """Read the files (defaults: the shared dev set + bench/judgments-extra.json) and run."""
    default_cases, default_judgments = default_paths(service.settings.shared_dir)
    cases_path = cases_path or default_cases
    paths = list(judgment_paths or default_judgments)
    for path in [cases_path, *paths]:
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such file")
    cases = load_cases(cases_path)[:limit]
    files = [(str(p), load_judgments(p)) for p in paths]
    result = run_judged(
        service,
        cases,
        files,
        check_methods(methods or METHODS),
        progress=progress,
        with_unjudged=with_unjudged,
    )
    return result, {c.id: c.target for c in cases}


def score_saved_runs(
    runs_path: Path,
    cases_path: Path | None,
    judgment_paths: list[Path] | None,
    methods: list[str] | None,
    shared_dir: Path | None = None,
    canonical: dict[str, str] | None = None,
) -> tuple[JudgedResult, dict[str, str]]:
    """Score lists saved by any system (no engine unless ``canonical`` came from one): the
    same metrics and tests."""
    from skillpath.engine.config import Settings

    default_cases, default_judgments = default_paths(shared_dir or Settings().shared_dir)
    cases_path = cases_path or default_cases
    paths = list(judgment_paths or default_judgments)
    for path in [runs_path, cases_path, *paths]:
        if not Path(path).exists():
            raise FileNotFoundError(f"{path}: no such file")
    cases = load_cases(cases_path)
    merged = merge_judgments([(str(p), load_judgments(p)) for p in paths])
    saved = load_runs(runs_path)
    if methods:
        missing = [m for m in methods if m not in saved]
        if missing:
            raise ValueError(f"{runs_path} has no run named {', '.join(missing)}")
        saved = {m: saved[m] for m in methods}
    baseline = "skillpath" if "skillpath" in saved else next(iter(saved))
    means, per_case, sig = score_runs(saved, cases, merged.grades, canonical, baseline)
    result = JudgedResult(
        cases=len(cases),
        judged_pairs=sum(len(merged.grades.get(c.id, {})) for c in cases),
        judgment_files=[str(p) for p in paths],
        methods=means,
        per_case=per_case,
        significance=sig,
        baseline=baseline,
        runs=saved,
        conflicts=merged.conflicts,
        seconds={},
    )
    return result, {c.id: c.target for c in cases}


def judged_command(
    cases: Annotated[
        Path | None,
        typer.Option("--cases", help="Cases JSON. Default: <shared>/bench/recommendations/."),
    ] = None,
    judgments: Annotated[
        list[Path] | None,
        typer.Option(
            "--judgments",
            help="Judgments: JSON {case: {credential: grade}} or TREC qrels; repeatable, "
            "merged in order (a given grade is never changed). Default: the shared dev "
            "judgments + bench/judgments-extra.json if present.",
        ),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help=f"Methods to run (default: {', '.join(METHODS)})."),
    ] = None,
    runs: Annotated[
        Path | None,
        typer.Option(
            "--runs",
            help="Score saved lists instead of running methods: JSON {method: {case: [ids]}} "
            "(e.g. the shared pool-runs file, or the runs of a judged.json) or a TREC run "
            "file. No engine is loaded unless --fold.",
        ),
    ] = None,
    fold: Annotated[
        bool,
        typer.Option(
            "--fold",
            help="With --runs: fold duplicate ids with the home's catalogue (loads the engine).",
        ),
    ] = False,
    unjudged_out: Annotated[
        Path | None,
        typer.Option(
            "--unjudged-out",
            help="Write every unjudged (case, credential) of any top 10 here, pooled and "
            "blind (no method named), for a judge to grade.",
        ),
    ] = None,
    results_root: Annotated[
        Path, typer.Option("--results", help="Folder for results/<timestamp>/ (plot, JSON).")
    ] = Path("results"),
    plot: Annotated[bool, typer.Option(help="Draw judged.png into the results folder.")] = True,
    per_case: Annotated[bool, typer.Option(help="Print the per-case table.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """nDCG@10/@5, P@5 and unjudged@10 of each method on judged career moves, side by side,
    with paired significance tests against skillpath."""
    from skillpath.engine.clikit import progress_bars
    from skillpath.evaluation import cli as eval_cli

    try:
        if method and runs is None:
            check_methods(method)  # a usage error before the engine loads
        if runs is not None:
            canonical = eval_cli.service().catalogue.canonical_ids() if fold else None
            result, targets = score_saved_runs(runs, cases, judgments, method, canonical=canonical)
        else:
            sp = eval_cli.service()
            with progress_bars() as progress:
                result, targets = evaluate_judged(
                    sp, cases, judgments, method, progress, with_unjudged=unjudged_out is not None
                )
        out = write_results(result, results_root, plot)
        if unjudged_out is not None:
            unjudged_out.parent.mkdir(parents=True, exist_ok=True)
            unjudged_out.write_text(
                json.dumps(result.unjudged, indent=2, ensure_ascii=False) + "\n", "utf-8"
            )
    except (JudgedFormatError, ValueError, KeyError, RuntimeError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    console.print(summary_table(result.to_dict()))
    if per_case:
        console.print(per_case_table(result, targets))
    if result.conflicts:
        console.print(
            f"[yellow]{len(result.conflicts)} judgment conflict(s) kept the first "
            "grade[/yellow] (see results.json)"
        )
    if unjudged_out is not None:
        console.print(f"{len(result.unjudged)} unjudged items → {unjudged_out}", highlight=False)
    console.print(f"results: {out}", highlight=False)


def write_results(result: JudgedResult, root: Path, plot: bool = True) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = Path(root) / f"judged-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "judged.json").write_text(
        json.dumps({"generated": stamp, **result.to_dict()}, indent=2, ensure_ascii=False),
        "utf-8",
    )
    if plot:
        plot_judged(result, out / "judged.png")
    return out


def judged_section(service: Any, quick: bool = False) -> dict[str, Any]:
    """The judged evaluation as a section of ``evaluate all`` (every method, default files;
    ``quick``: the first :data:`QUICK_CASES` cases only, for CI)."""
    t0 = time.perf_counter()
    result, _ = evaluate_judged(service, None, None, None, limit=QUICK_CASES if quick else None)
    data = result.to_dict()
    data["seconds_total"] = time.perf_counter() - t0
    return data
