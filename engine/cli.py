"""The ``skillpath`` command: a thin layer over :class:`skillpath.engine.service.Skillpath`.

Every read command prints a rich table by default and JSON with ``--json``; errors print one
clear line on stderr and exit non-zero instead of a traceback.
"""

from __future__ import annotations

import dataclasses
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from skillpath.engine.backup import register as register_backup
from skillpath.engine.clikit import (
    JsonOpt,
    KOpt,
    RayAddressOpt,
    RayWorkersOpt,
    console,
    err,
    errors,
    print_json,
    progress_bars,
    service,
)
from skillpath.engine.replay import register as register_replay

COMMAND_GROUP = "skillpath.commands"
"""Entry point group of command plugins: each names ``register(app)``, called with the root
typer app (the evaluation layer registers ``skillpath evaluate …`` this way), so the CLI
never imports the layers above it."""

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
catalogue_app = typer.Typer(
    help="Micro-credential catalogue: import, list, export.", no_args_is_help=True
)
app.add_typer(catalogue_app, name="catalogue")
register_backup(app)  # skillpath backup DEST / skillpath restore SRC (engine/backup.py)
register_replay(app)  # skillpath replay LOG-or-REQUEST-ID (engine/replay.py)


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
            manifests = service().matching.build_indexes(progress)
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
        hits = service().matching.search_skills(text, k)
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
        hits = service().matching.search_occupations(title, k)
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
        detail = service().taxonomy.occupation_detail(ref)
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


# -- catalogue --------------------------------------------------------------------------
@catalogue_app.command("import")
def catalogue_import(
    paths: Annotated[list[Path], typer.Argument(help="Catalogue file(s).")],
    fmt: Annotated[str, typer.Option("--format", help="csv | elm | ob3")] = "csv",
    mapping: Annotated[
        str | None, typer.Option(help="CSV mapping name or TOML path (default: by file name).")
    ] = None,
    show_issues: Annotated[int, typer.Option(help="How many issues to list.")] = 10,
    engine: Annotated[
        str, typer.Option("--engine", help="local | ray: where outcomes are mapped to ESCO.")
    ] = "local",
    address: RayAddressOpt = None,
    workers: RayWorkersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import catalogue files; every row is imported or reported with a reason.

    With ``--engine ray`` the outcomes are mapped on Ray actors (the ``batch`` plugin);
    the writes stay in this process.
    """
    from contextlib import nullcontext

    from skillpath.engine.catalogue.importer import MAPPING_ENGINES

    if engine != "local" and engine not in MAPPING_ENGINES:
        known = ", ".join(["local", *MAPPING_ENGINES])
        err.print(f"[red]error:[/red] unknown import engine {engine!r} (known: {known})")
        raise typer.Exit(1)
    parallel = (
        nullcontext(None)
        if engine == "local"
        else MAPPING_ENGINES[engine](address=address, workers=workers)
    )
    summaries = []
    with errors():
        sp = service()
        with parallel as batch_mapping:
            for path in paths:
                with progress_bars() as progress:
                    summaries.append(
                        sp.catalogue.import_file(path, fmt, mapping, progress, batch_mapping)
                    )
    if as_json:
        print_json(
            [
                {
                    **{k: v for k, v in dataclasses.asdict(s).items() if k != "ids"},
                    "skip_reasons": s.skip_reasons(),
                }
                for s in summaries
            ]
        )
        return
    table = Table(title="catalogue import")
    for column in (
        "source",
        "read",
        "imported",
        "updated",
        "unchanged",
        "skipped",
        "warnings",
        "statements",
        "declared",
        "inferred",
        "tags",
        "seconds",
    ):
        table.add_column(column, justify="right" if column != "source" else "left")
    for s in summaries:
        table.add_row(
            s.source,
            *(
                f"{n:,}"
                for n in (
                    s.read,
                    s.imported,
                    s.updated,
                    s.unchanged,
                    s.skipped,
                    s.warnings,
                    s.statements_mapped,
                    s.declared_links,
                    s.inferred_links,
                    s.tag_links,
                )
            ),
            f"{s.seconds:.1f}",
        )
    console.print(table)
    for s in summaries:
        for reason, n in list(s.skip_reasons().items())[:5]:
            console.print(f"[yellow]{s.source}: skipped {n} × {reason}[/yellow]", highlight=False)
        for issue in s.issues[:show_issues]:
            where = f"line {issue.line}" if issue.line else (issue.external_id or "")
            field = f" [{issue.field}]" if issue.field else ""
            console.print(f"  {issue.severity} {where}{field}: {issue.reason}", highlight=False)


@catalogue_app.command("list")
def catalogue_list(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    query: Annotated[str | None, typer.Option("-q", help="Title contains.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Stored credentials, a page at a time."""
    with errors():
        items = service().catalogue.list(offset, limit, source, query)
    if as_json:
        print_json(
            [{"id": c.record.id, "title": c.record.title, "skills": len(c.links)} for c in items]
        )
        return
    table = Table(title="credentials")
    for column in ("id", "title", "ECTS", "hours", "mode", "lang", "skills"):
        table.add_column(column)
    for c in items:
        r = c.record
        table.add_row(
            r.id,
            r.title[:60],
            _num(r.ects),
            _num(r.hours),
            r.mode or "",
            ",".join(r.languages),
            str(len(c.links)),
        )
    console.print(table)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@catalogue_app.command("show")
def catalogue_show(
    credential_id: Annotated[str, typer.Argument(help="Credential id (source:external_id).")],
    as_json: JsonOpt = False,
) -> None:
    """One credential with its learning outcomes and ESCO skills."""
    with errors():
        sp = service()
        stored = sp.catalogue.get(credential_id)
        labels = sp.taxonomy.skill_labels(link.skill_uri for link in stored.links)
    if as_json:
        print_json(sp.catalogue.export(credential_id, "json"))
        return
    r = stored.record
    console.print(f"[bold]{r.title}[/bold]  ({r.id})")
    for name in (
        "awarding_body",
        "country",
        "ects",
        "hours",
        "eqf_level",
        "mode",
        "languages",
        "assessment_type",
        "quality_assurance",
        "url",
    ):
        value = getattr(r, name)
        if value not in (None, []):
            console.print(f"  {name}: {value}", highlight=False)
    console.print(f"learning outcomes ({len(r.learning_outcomes)}):")
    for outcome in r.learning_outcomes:
        console.print(f"  • {outcome}", highlight=False)
    table = Table(title="ESCO skills")
    for column in ("skill", "source", "score", "evidence"):
        table.add_column(column)
    for link in stored.links:
        label = labels.get(link.skill_uri, link.skill_uri)
        table.add_row(label, link.source, f"{link.score:.2f}", (link.evidence or "")[:70])
    console.print(table)


@catalogue_app.command("stats")
def catalogue_stats(as_json: JsonOpt = False) -> None:
    """Counts per source: credentials, declared / inferred / tag links."""
    with errors():
        stats = service().catalogue.stats()
    if as_json:
        print_json(stats)
        return
    table = Table(
        title=f"catalogue: {stats['credentials']:,} credentials, "
        f"{stats['skill_links']:,} skill links, {stats['distinct_skills']:,} skills"
    )
    columns = (
        "credentials",
        "with_inferred",
        "inferred_links",
        "with_declared",
        "declared_links",
        "with_tag",
        "tag_links",
    )
    table.add_column("source")
    for column in columns:
        table.add_column(column, justify="right")
    for source, row in sorted(stats["by_source"].items()):
        table.add_row(source, *(f"{row.get(c, 0):,}" for c in columns))
    console.print(table)


@catalogue_app.command("export")
def catalogue_export(
    credential_id: Annotated[str, typer.Argument(help="Credential id.")],
    fmt: Annotated[str, typer.Option("--format", help="elm | ob3 | json")] = "elm",
) -> None:
    """Export a credential, ESCO-enriched, as ELM JSON-LD, an OB3 Achievement, or JSON."""
    with errors():
        print_json(service().catalogue.export(credential_id, fmt))


@catalogue_app.command("remove")
def catalogue_remove(credential_id: Annotated[str, typer.Argument(help="Credential id.")]) -> None:
    """Delete a credential (and its vectors)."""
    with errors():
        service().catalogue.remove(credential_id)
    console.print(f"removed {credential_id}")


# -- gap and recommendations ------------------------------------------------------------
TargetOpt = Annotated[
    str, typer.Option("--target", "-t", help="Target: ESCO occupation URI or a job title.")
]
SkillsOpt = Annotated[
    list[str] | None,
    typer.Option("--skills", "-s", help="Held skill: ESCO URI or exact label (repeatable)."),
]
CvOpt = Annotated[Path | None, typer.Option("--cv", help="A CV or text file to extract skills.")]
OccOpt = Annotated[
    list[str] | None,
    typer.Option("--occupation", help="Current/past ESCO occupation (URI or label; repeatable)."),
]


def _profile(skills, cv, occupations, text=None):
    from skillpath.engine.recommendation import LearnerProfile

    cv_text = None
    if cv is not None:
        try:
            cv_text = cv.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise typer.BadParameter(f"{cv}: not UTF-8 text ({exc})", param_hint="--cv") from None
        except OSError as exc:
            raise typer.BadParameter(f"{cv}: {exc.strerror}", param_hint="--cv") from None
    return LearnerProfile(
        skills=[s for s in (skills or []) if s.strip()],
        text="\n".join(t for t in (text, cv_text) if t) or None,
        occupations=occupations or [],
    )


def _print_gap(response) -> None:
    target = response.target
    console.print(
        f"[bold]Target:[/bold] {target.occupation_label} ({target.occupation_uri}), "
        f"matched by {target.matched_by}, score {target.score:.2f}",
        highlight=False,
    )
    if target.ambiguous:
        console.print("  [yellow]ambiguous title:[/yellow] check the alternatives", highlight=False)
    if target.alternatives and (target.matched_by == "search" or target.ambiguous):
        console.print(
            "  alternatives: "
            + "; ".join(f"{a.label} ({a.score:.2f})" for a in target.alternatives),
            highlight=False,
        )
    for note in response.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    gap = response.gap
    console.print(
        f"held skills: {len(response.held)}; gap: {gap.essential_count} essential, "
        f"{gap.optional_count} optional, remaining weight {gap.remaining_weight:.1f} of "
        f"{gap.total_weight:.1f}",
        highlight=False,
    )


@app.command("gap")
def gap_command(
    target: TargetOpt,
    skills: SkillsOpt = None,
    cv: CvOpt = None,
    occupation: OccOpt = None,
    text: Annotated[str | None, typer.Option(help="Free text describing what you can do.")] = None,
    optional_weight: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="Weight of optional skills (default: the tuning's)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The skill gap between a learner and a target occupation."""
    profile = _profile(skills, cv, occupation, text)
    with errors():
        response = service().compute_gap(target, profile, optional_weight)
    if as_json:
        print_json(response)
        return
    _print_gap(response)
    table = Table(title="gap skills")
    for column in ("skill", "relation", "weight", "remaining", "why"):
        table.add_column(column)
    for skill in response.gap.skills:
        table.add_row(
            skill.label,
            skill.relation,
            f"{skill.weight:.2f}",
            f"{skill.remaining_weight:.2f}",
            skill.reason,
        )
    console.print(table)


@app.command("recommend")
def recommend_command(
    target: TargetOpt,
    skills: SkillsOpt = None,
    cv: CvOpt = None,
    occupation: OccOpt = None,
    text: Annotated[str | None, typer.Option(help="Free text describing what you can do.")] = None,
    budget_ects: Annotated[float | None, typer.Option(help="Workload budget in ECTS.")] = None,
    budget_hours: Annotated[float | None, typer.Option(help="Workload budget in hours.")] = None,
    language: Annotated[
        list[str] | None, typer.Option(help="Accepted language (ISO 639-1; repeatable).")
    ] = None,
    mode: Annotated[
        list[str] | None, typer.Option(help="online | onsite | blended (repeatable).")
    ] = None,
    eqf_min: Annotated[int | None, typer.Option(min=1, max=8)] = None,
    eqf_max: Annotated[int | None, typer.Option(min=1, max=8)] = None,
    max_price: Annotated[float | None, typer.Option(min=0)] = None,
    country: Annotated[str | None, typer.Option(help="Country for onsite courses.")] = None,
    exclude_provider: Annotated[list[str] | None, typer.Option(help="Provider to skip.")] = None,
    k: KOpt = 10,
    ranking_method: Annotated[
        str,
        typer.Option(
            "--ranking",
            help="relevance (default: relevance to the target job, gap-aware) | coverage "
            "(the older ranking by ESCO skill overlap with the gap).",
        ),
    ] = "relevance",
    as_json: JsonOpt = False,
) -> None:
    """Micro-credentials that close the gap, a pathway within the budget, and why."""
    from pydantic import ValidationError

    from skillpath.engine.ranking import Constraints
    from skillpath.engine.recommendation import RecommendationRequest

    profile = _profile(skills, cv, occupation, text)
    try:
        request = RecommendationRequest(
            target=target,
            profile=profile,
            k=k,
            ranking=ranking_method,
            constraints=Constraints(
                languages=language or None,
                budget_ects=budget_ects,
                budget_hours=budget_hours,
                modes=mode or None,
                eqf_min=eqf_min,
                eqf_max=eqf_max,
                max_price=max_price,
                country=country,
                exclude_providers=exclude_provider or [],
            ),
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    with errors():
        response = service().recommend(request)
    if as_json:
        print_json(response)
        return
    _print_gap(response)
    ranking = response.ranking
    if not ranking.items:
        console.print(f"[yellow]no recommendation:[/yellow] {ranking.reason_if_empty}")
    table = Table(title=f"recommended micro-credentials (top {len(ranking.items)})")
    for column in ("#", "credential", "score", "workload", "why"):
        table.add_column(column)
    for item, why in zip(ranking.items, response.explanations, strict=True):
        table.add_row(
            str(item.rank),
            f"{item.title}\n[dim]{item.id}[/dim]",
            f"{item.score:.3f}",
            " ".join(why.details[:1]),
            why.sentence,
        )
    console.print(table)
    console.print(f"[bold]Pathway:[/bold] {response.pathway_explanation.sentence}", highlight=False)
    for step in response.pathway_explanation.steps:
        console.print(f"  {step}", highlight=False)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind; 0.0.0.0 exposes it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes; each loads its own indexes.")
    ] = 1,
) -> None:
    """Run the HTTP API and web page (uvicorn on the ``skillpath.api.app:create_app`` factory)."""
    import uvicorn

    # access_log off: uvicorn's line has the raw path and query (which may name a person);
    # the API logs its own JSON line with the route template instead.
    uvicorn.run(
        "skillpath.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        proxy_headers=False,
    )


def load_plugins(root: typer.Typer = app) -> list[str]:
    """Call every ``skillpath.commands`` entry point's ``register(root)``; their names.

    A plugin that fails to load is reported on stderr and skipped: the engine's own commands
    keep working whatever a plugin does.
    """
    loaded = []
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        try:
            ep.load()(root)
        except Exception as exc:  # noqa: BLE001 - reported, the rest of the CLI still works
            err.print(f"[yellow]skipped command plugin {ep.name}: {exc}[/yellow]", highlight=False)
            continue
        loaded.append(ep.name)
    return loaded


load_plugins()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
