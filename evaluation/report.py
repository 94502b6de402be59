"""The evaluation report: Markdown tables, matplotlib plots and one JSON of every number.

Written under ``results/<timestamp>/`` (gitignored): ``report.md``, ``results.json`` and
``*.png``. The Markdown puts skillpath and every baseline side by side per lens, says which
lens is which, and states the caveats next to the numbers rather than in a separate doc,
because a table copied out of context should still not mislead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

METHOD_ORDER = (
    "skillpath",
    "skillpath pathway",
    "skillpath+tags",
    "skillpath+tags pathway",
    "bm25",
    "dense",
    "popularity",
    "random",
    "oracle",
)

MAIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("nDCG@10", "nDCG@10"),
    ("MAP", "MAP"),
    ("recall@10", "R@10"),
    ("MRR", "MRR"),
    ("gap_coverage@5", "gapcov@5"),
    ("gap_coverage@10", "gapcov@10"),
    ("reached_80", "reach 80%"),
    ("median_hours_to_80", "h to 80%"),
    ("reached_80_reachable", "reach 80% of reachable"),
    ("median_hours_to_80_reachable", "h to 80% of reachable"),
    ("employability_gain@10", "employ. gain"),
    ("catalogue_coverage@10", "cat.cov@10"),
    ("ild@10", "ILD@10"),
)
STRATUM_COLUMNS = ("nDCG@10", "MAP", "gap_coverage@10", "employability_gain@10")


def results_dir(root: Path | str = "results") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = Path(root) / stamp
    path.mkdir(parents=True, exist_ok=True)
    return path


def ordered_methods(methods: Mapping[str, Any]) -> list[str]:
    known = [m for m in METHOD_ORDER if m in methods]
    return known + sorted(m for m in methods if m not in METHOD_ORDER)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def lens_table(lens: Mapping[str, Any]) -> str:
    methods = lens["methods"]
    rows = []
    for m in ordered_methods(methods):
        o = methods[m]["overall"]
        lat = methods[m]["latency"]
        rows.append(
            [f"**{m}**" if m.startswith("skillpath") else m]
            + [fmt(o.get(key)) for key, _ in MAIN_COLUMNS]
            + [f"{lat['p50'] * 1000:.0f} / {lat['p95'] * 1000:.0f}"]
        )
    return _table(["method", *(label for _, label in MAIN_COLUMNS), "ms p50/p95"], rows)


def strata_table(lens: Mapping[str, Any]) -> str:
    methods = lens["methods"]
    strata = ("near", "mid", "far")
    header = ["method"] + [f"{s} {c}" for c in STRATUM_COLUMNS for s in strata]
    rows = []
    for m in ordered_methods(methods):
        st = methods[m]["strata"]
        rows.append([m] + [fmt(st.get(s, {}).get(c)) for c in STRATUM_COLUMNS for s in strata])
    return _table(header, rows)


def significance_text(sig: Any) -> str:
    """skillpath vs each method: paired t-test p-values and nDCG@10 W/T/L per learner."""
    if not sig:
        return "No significance test (fewer than two judged learners)."
    if isinstance(sig, str):
        return sig
    rows = [
        [m]
        + [f"{v['p'][k]:.3g}" for k in ("ndcg@10", "map", "mrr")]
        + ["{W}/{T}/{L}".format(**v["wtl_ndcg@10"])]
        for m, v in sig.items()
    ]
    return (
        "skillpath vs each method, paired two-sided t-test over judged learners (ranx), "
        "no multiple-comparison correction:\n\n"
        + _table(["vs", "p nDCG@10", "p MAP", "p MRR", "nDCG@10 W/T/L"], rows)
    )


def write_plots(results: Mapping[str, Any], out: Path) -> list[str]:
    """metric-by-method bars, coverage-vs-workload curves, per-stratum bars (one per lens)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: list[str] = []
    for name, lens in results["lenses"].items():
        methods = ordered_methods(lens["methods"])
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
        for ax, key in zip(
            axes, ("nDCG@10", "gap_coverage@10", "employability_gain@10"), strict=True
        ):
            values = [lens["methods"][m]["overall"].get(key) or 0.0 for m in methods]
            colors = ["tab:blue" if m.startswith("skillpath") else "tab:gray" for m in methods]
            colors = [
                c if m != "oracle" else "tab:green" for c, m in zip(colors, methods, strict=True)
            ]
            ax.barh(methods[::-1], values[::-1], color=colors[::-1])
            ax.set_title(f"{key} ({name} lens)")
        fig.tight_layout()
        path = out / f"metrics-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path.name)

        fig, ax = plt.subplots(figsize=(7, 4.5))
        top = 0.0
        for m in methods:
            curve = lens["methods"][m]["curve"]
            if m.endswith("pathway"):
                continue
            hours = [max(1.0, h) for h in curve["median_hours"]]
            ax.plot(hours, curve["coverage"], marker=".", label=m)
            top = max(top, *curve["coverage"], 0.0)
        if top >= 0.6:  # the 80% target is only worth drawing when a curve gets near it
            ax.axhline(0.8, color="k", lw=0.5, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("median cumulative hours following the list (ranks 1-20)")
        ax.set_ylabel("mean gap coverage (reference skills)")
        ax.set_title(f"coverage vs workload ({name} lens)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"coverage-workload-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path.name)

        fig, ax = plt.subplots(figsize=(9, 4.2))
        strata = ("near", "mid", "far")
        width = 0.8 / max(1, len(methods))
        for i, m in enumerate(methods):
            st = lens["methods"][m]["strata"]
            ax.bar(
                [j + i * width for j in range(len(strata))],
                [st.get(s, {}).get("nDCG@10") or 0.0 for s in strata],
                width,
                label=m,
            )
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(strata))], strata)
        ax.set_ylabel("nDCG@10")
        ax.set_title(f"nDCG@10 per stratum ({name} lens)")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = out / f"strata-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path.name)
    return files


LENS_CAVEATS = {
    "tag": (
        "Reference = the provider's own skill tags (Coursera 'Skill gain') and declared ESCO "
        "skills (ELM/OB3), linked to ESCO at import. skillpath runs with link sources "
        "`declared` + `inferred` only: it never sees the tags. It does see the declared links, "
        "which are part of the reference (few: the ELM/OB3 sample). The tags were linked to "
        "ESCO by the same MiniLM matcher (top-1 >= 0.55) skillpath uses for outcomes, so the "
        "lens is not fully independent of the system's encoder. It can show whether skillpath "
        "finds courses whose providers say they teach the gap; it says nothing about courses "
        "without tags (EU modules, edX): they are outside this pool."
    ),
    "text": (
        "Reference = ESCO label variants found verbatim in title, outcomes and description "
        "(exact phrase match; ambiguous labels and labels found in > 5% of courses dropped). "
        "This is a different method from skillpath's embedding matcher and reads text "
        "skillpath does not map (the description), but it is literal: it rewards courses "
        "that name a skill and misses paraphrase, which favours lexical methods (BM25). "
        "It shares its input text with skillpath, so it measures agreement between two "
        "readings of the same text, not whether the course really teaches the skill."
    ),
    "model": (
        "Reference = ESCO skills extracted from title, outcomes and description (one "
        "statement per line) by the MiniLM + e5 ensemble matcher, a stronger configuration "
        "than skillpath's MiniLM matcher: better RP@5, RP@10 and MRR on all three "
        "skill-extraction development splits and higher extraction precision (F1 mixed; see "
        "docs/benchmarks.md). It reads paraphrase, unlike the text lens, and the description, "
        "unlike skillpath's links. It is not independent: it shares skillpath's MiniLM "
        "features and its SkillSkape training data, so errors the two make alike go unseen "
        "and agreement is favoured; and a matcher's reading of a course is still not proof "
        "that the course teaches the skill."
    ),
}


def _judged_lines(results: Mapping[str, Any]) -> list[str]:
    """The judged section (people's grades), which leads the report when it was run."""
    if not isinstance(results.get("judged"), dict):
        return []
    from skillpath.evaluation.judged_cli import judged_markdown

    return judged_markdown(results["judged"])


def render_markdown(results: Mapping[str, Any], plots: Sequence[str], command: str) -> str:
    rec = results["recommend"]
    cfg = rec["config"]
    lines = [
        "# skillpath evaluation report",
        "",
        f"Generated {results['generated']} by `{command}` in {results['seconds']:.0f} s.",
        "",
        *_judged_lines(results),
        "## Recommendation",
        "",
        f"{rec['learners']['n']} simulated learners "
        f"({', '.join(f'{s}: {n}' for s, n in rec['learners']['strata'].items())}) from "
        f"`evaluation/samples/learners-v1.json`; catalogue of {rec['catalogue']['size']:,} "
        f"credentials ({_counts(rec['catalogue']['by_source'])}). "
        f"Lists of {cfg['depth']} credentials; metrics at k={cfg['k']} unless named; gap = "
        f"target skills not held (essential 1.0, optional {cfg['optional_weight']}); relevance "
        "grade = covered share of the gap in whole percent. `oracle` is an upper bound (greedy "
        "coverage with the reference skills themselves), not a method. `reach 80%` = share of "
        "learners whose list reaches 80% gap coverage; `h to 80%` = median hours among those "
        "(ECTS x 30; unknown workloads count 0, so a lower bound); `employ. gain` = occupations "
        "of the target's ISCO minor group newly reaching 80% of their essential skills after the "
        "top 10 (Frej et al., SIGIR 2024).",
        "",
    ]
    for name, lens in rec["lenses"].items():
        lines += [
            f"### {name} lens",
            "",
            LENS_CAVEATS.get(name, lens["description"]),
            "",
            f"Pool: {lens['pool_size']:,} credentials with reference skills "
            f"({', '.join(f'{s}: {n:,}' for s, n in lens['pool_by_source'].items())}); "
            f"{lens['learners_with_relevant']}/{lens['learners']} learners have a relevant "
            f"credential (IR metrics average over those); {lens['mean_relevant_per_learner']:.0f} "
            f"relevant per learner on average; the whole pool covers "
            f"{lens['mean_reachable_gap']:.1%} of the mean gap. "
            f"{lens.get('pool_without_system_links', 0):,} pool credentials have no link "
            "skillpath may use (no mapped outcome), so skillpath can never rank them; "
            f"{lens.get('relevant_visible_to_skillpath', 0):.0%} of a learner's relevant "
            "credentials are visible to skillpath on average. " + " ".join(lens["notes"]),
            "",
            lens_table(lens),
            "",
            "skillpath vs each method, per learner, gap coverage@10 (wins / ties / losses): "
            + "; ".join(
                f"{m} {c['wins']}/{c['ties']}/{c['losses']}"
                for m, c in lens.get("paired_gap_coverage@10", {}).items()
            )
            + ".",
            "",
            significance_text(lens.get("significance")),
            "",
            "Per stratum:",
            "",
            strata_table(lens),
            "",
        ]
        lines += [f"![{p}]({p})" for p in plots if p.endswith(f"-{name}.png")]
        lines.append("")
    if "skills" in results:
        lines += ["## Skill extraction (WorkRB protocol)", "", skills_table(results["skills"]), ""]
    if "titles" in results:
        lines += ["## Job titles (JobBERT validation)", "", titles_table(results["titles"]), ""]
    if results.get("todo"):
        lines += ["## Not run", ""] + [f"- {t}" for t in results["todo"]] + [""]
    return "\n".join(lines)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{s}: {n:,}" for s, n in counts.items())


def skills_table(splits: Mapping[str, Any]) -> str:
    """One row per (split, method) from evaluation.skills_eval results, plus extraction."""
    rows = []
    for name, r in splits.items():
        for method, sc in r["scores"].items():
            rows.append(
                [name, str(r["queries"]), method]
                + [fmt(sc.get(m)) for m in ("RP@5", "RP@10", "MRR")]
                + ["", "", ""]
            )
        ex = r.get("extraction")
        if ex:
            rows.append(
                [name, str(r["queries"]), f"extraction (t={ex['threshold']:.2f})", "", "", ""]
                + [fmt(ex[m]) for m in ("precision", "recall", "f1")]
            )
    header = ["split", "queries", "method", "RP@5", "RP@10", "MRR", "P", "R", "F1"]
    return _table(header, rows)


def titles_table(result: Mapping[str, Any]) -> str:
    rows = [
        [method] + [fmt(sc.get(m)) for m in ("MRR", "R@1", "R@5", "R@10")]
        for method, sc in result["scores"].items()
    ]
    sampled = " (fixed-seed sample)" if result.get("sampled") else ""
    return f"{result['queries']:,} titles{sampled}.\n\n" + _table(
        ["method", "MRR", "R@1", "R@5", "R@10"], rows
    )


def write_report(
    results: dict[str, Any], out: Path, command: str, plots: bool = True
) -> dict[str, Path]:
    files = write_plots(results["recommend"], out) if plots and "recommend" in results else []
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "report.md").write_text(render_markdown(results, files, command) + "\n")
    return {"report": out / "report.md", "json": out / "results.json"}
