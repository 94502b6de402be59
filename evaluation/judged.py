"""Judged evaluation: recommendation lists scored against people's graded judgments.

The simulated-learner lenses measure a proxy (overlap of ESCO URIs); this module measures
what an advisor thinks of the list. A *case* is a career move as a learner types it (current
occupation, a few words about themselves, the target job); a *judgment* grades one credential
for one case 0-3 (the rubric of ``<shared>/bench/recommendations/README.md``).

Metrics (per case, then the mean over cases):

* nDCG@k with gain 2^grade - 1 and the ideal ranking built from the case's judged items;
* P@5: the share of the top 5 graded >= 2;
* unjudged@10: the share of the top 10 that no judgment file grades (scored 0, so a method
  that retrieves many unjudged items is under-measured: grade them blind and add a file).

Duplicates: the catalogue may hold the same course under several ids (two source files, two
languages). Lists and judgments are folded onto one id per course (``canonical``) before
scoring: a ranked entry earns the grade of any of its ids, appears once, and the ideal ranking
counts each course once, so no method is asked for a list it cannot produce.

Judgment files are JSON ``{case: {credential: grade}}`` or TREC qrels (``case 0 credential
grade`` per line), detected by content. Several files merge; a grade given by an earlier file
is never changed by a later one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Judgments = dict[str, dict[str, int]]
"""case id → credential id → grade (0-3)."""

GRADES = (0, 1, 2, 3)
RELEVANT_GRADE = 2  # P@5 counts items graded at least this
METRICS = ("nDCG@10", "nDCG@5", "P@5", "unjudged@10")
METHODS = ("skillpath", "coverage", "bm25", "dense")
EXTRA_JUDGMENTS = Path("bench/judgments-extra.json")  # the repository's own blind judgments


class JudgedFormatError(ValueError):
    """A cases or judgments file that cannot be read; the message says what and where."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Case:
    """One career move as the learner types it."""

    id: str
    occupation: str
    text: str
    target: str


def load_cases(path: Path) -> list[Case]:
    """The cases of a JSON list of ``{id, occupation, text, target}`` objects."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise JudgedFormatError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, list):
        raise JudgedFormatError(f"{path}: expected a JSON list of cases")
    cases, seen = [], set()
    for n, row in enumerate(data, 1):
        if not isinstance(row, dict):
            raise JudgedFormatError(f"{path}: case {n} is not an object")
        missing = [k for k in ("id", "target") if not str(row.get(k) or "").strip()]
        if missing:
            raise JudgedFormatError(f"{path}: case {n} has no {', '.join(missing)}")
        case = Case(
            id=str(row["id"]),
            occupation=str(row.get("occupation") or ""),
            text=str(row.get("text") or ""),
            target=str(row["target"]),
        )
        if case.id in seen:
            raise JudgedFormatError(f"{path}: case id {case.id!r} appears twice (case {n})")
        seen.add(case.id)
        cases.append(case)
    return cases


def _grade(value: Any, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JudgedFormatError(f"{where}: grade {value!r} is not a number") from None
    if not number.is_integer() or int(number) not in GRADES:
        raise JudgedFormatError(f"{where}: grade {value!r} is not one of 0, 1, 2, 3")
    return int(number)


def parse_qrels(text: str, source: str = "qrels") -> Judgments:
    """TREC qrels: ``case iteration credential grade`` per line (whitespace separated)."""
    out: Judgments = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 4:
            raise JudgedFormatError(
                f"{source} line {n}: expected 4 fields (case iteration credential grade), "
                f"got {len(parts)}"
            )
        case, _, credential, grade = parts
        where = f"{source} line {n}"
        if credential in out.setdefault(case, {}):
            raise JudgedFormatError(f"{where}: {case} {credential} is graded twice")
        out[case][credential] = _grade(grade, where)
    return out


def parse_judgments_json(data: Any, source: str = "judgments") -> Judgments:
    if not isinstance(data, dict):
        raise JudgedFormatError(f"{source}: expected a JSON object {{case: {{credential: grade}}}}")
    out: Judgments = {}
    for case, grades in data.items():
        if not isinstance(grades, dict):
            raise JudgedFormatError(f"{source}: case {case!r} is not an object of grades")
        out[str(case)] = {
            str(cid): _grade(g, f"{source}: {case} / {cid}") for cid, g in grades.items()
        }
    return out


def load_judgments(path: Path) -> Judgments:
    """A judgments file, JSON or TREC qrels (detected by its first character)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JudgedFormatError(f"{path}: not valid JSON ({exc})") from None
        return parse_judgments_json(data, str(path))
    return parse_qrels(text, str(path))


@dataclass
class MergedJudgments:
    grades: Judgments
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    """(case, credential) graded differently by a later file: the earlier grade was kept."""
    added: dict[str, int] = field(default_factory=dict)
    """file → pairs it contributed that no earlier file graded."""


def merge_judgments(files: Sequence[tuple[str, Judgments]]) -> MergedJudgments:
    """Merge judgment files in order; a grade once given is never changed by a later file."""
    merged = MergedJudgments(grades={})
    for name, judgments in files:
        added = 0
        for case, grades in judgments.items():
            target = merged.grades.setdefault(case, {})
            for cid, grade in grades.items():
                if cid not in target:
                    target[cid] = grade
                    added += 1
                elif target[cid] != grade:
                    merged.conflicts.append(
                        {
                            "case": case,
                            "credential": cid,
                            "kept": target[cid],
                            "ignored": grade,
                            "file": name,
                        }
                    )
        merged.added[name] = added
    return merged


def default_paths(shared_dir: Path, repo_dir: Path | None = None) -> tuple[Path, list[Path]]:
    """The dev cases and judgments, plus the repository's extra blind judgments if present."""
    bench = Path(shared_dir) / "bench" / "recommendations"
    judgments = [bench / "judgments.json"]
    # The checkout's file: beside the working directory, else beside this source tree.
    roots = [repo_dir] if repo_dir else [Path.cwd(), Path(__file__).resolve().parents[1]]
    for root in roots:
        if (root / EXTRA_JUDGMENTS).exists():
            judgments.append(root / EXTRA_JUDGMENTS)
            break
    return bench / "cases.json", judgments


def load_runs(path: Path) -> dict[str, dict[str, list[str]]]:
    """Saved ranked lists: JSON ``{"runs": {method: {case: [ids]}}}`` (or without the
    ``runs`` wrapper), or a TREC run file (``case Q0 credential rank score method``)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise JudgedFormatError(f"{path}: not valid JSON ({exc})") from None
        data = data.get("runs", data) if isinstance(data, dict) else data
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise JudgedFormatError(f"{path}: expected {{method: {{case: [credential ids]}}}}")
        return {m: {str(c): [str(i) for i in ids] for c, ids in r.items()} for m, r in data.items()}
    rows: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 6:
            raise JudgedFormatError(
                f"{path} line {n}: expected 6 fields (case Q0 credential rank score method)"
            )
        case, _, cid, rank, _, method = parts
        try:
            position = float(rank)
        except ValueError:
            raise JudgedFormatError(f"{path} line {n}: rank {rank!r} is not a number") from None
        rows.setdefault(method, {}).setdefault(case, []).append((position, cid))
    return {
        m: {c: [cid for _, cid in sorted(items)] for c, items in cases.items()}
        for m, cases in rows.items()
    }


# --------------------------------------------------------------------------- metrics


def _fold(ids: Iterable[str], canonical: Mapping[str, str]) -> list[str]:
    """Ids mapped to their canonical id, first occurrence kept."""
    seen: dict[str, None] = {}
    for cid in ids:
        seen.setdefault(canonical.get(cid, cid), None)
    return list(seen)


def fold_grades(grades: Mapping[str, int], canonical: Mapping[str, str]) -> dict[str, int]:
    """One grade per course: the best grade of any of its ids (the rubric gives duplicates
    the same grade, so this only matters when a judge disagreed with themself)."""
    out: dict[str, int] = {}
    for cid, grade in grades.items():
        key = canonical.get(cid, cid)
        out[key] = max(grade, out.get(key, 0))
    return out


def dcg(gains: Sequence[float]) -> float:
    return float(sum(g / math.log2(i + 2) for i, g in enumerate(gains)))


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, int], k: int) -> float:
    """nDCG@k with gain 2^grade - 1; ideal = the judged grades sorted; 0 if nothing relevant."""
    ideal = dcg(sorted((2**g - 1 for g in grades.values()), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg([2 ** grades.get(cid, 0) - 1 for cid in ranked[:k]]) / ideal


def precision_at(ranked: Sequence[str], grades: Mapping[str, int], k: int = 5) -> float:
    """Share of the k slots holding an item graded >= 2 (a short list is not rewarded)."""
    return sum(1 for cid in ranked[:k] if grades.get(cid, 0) >= RELEVANT_GRADE) / k


def unjudged_at(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    """Share of the listed top k that no judgment grades (0 for an empty list)."""
    top = ranked[:k]
    return sum(1 for cid in top if cid not in grades) / len(top) if top else 0.0


def case_metrics(
    ranked: Sequence[str], grades: Mapping[str, int], canonical: Mapping[str, str] | None = None
) -> dict[str, float]:
    """The four metrics of one list for one case, duplicates folded first."""
    canonical = canonical or {}
    folded = _fold(ranked, canonical)
    g = fold_grades(grades, canonical)
    return {
        "nDCG@10": ndcg_at(folded, g, 10),
        "nDCG@5": ndcg_at(folded, g, 5),
        "P@5": precision_at(folded, g, 5),
        "unjudged@10": unjudged_at(folded, g, 10),
    }


def paired_significance(
    mine: Sequence[float], other: Sequence[float], seed: int = 0, resamples: int = 10_000
) -> dict[str, Any]:
    """Is ``mine`` better than ``other`` over the same cases? Two-sided p-values of a paired
    t-test, a Wilcoxon signed-rank test and a sign-flip permutation test of the mean
    difference, with the mean difference and per-case wins/ties/losses.

    30 cases is few: the three tests disagree when the differences are skewed, so all three
    are reported rather than one picked after the fact.
    """
    from scipy import stats

    a, b = np.asarray(mine, dtype=float), np.asarray(other, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.shape} vs {b.shape}")
    d = a - b
    wins, losses = int((d > 1e-12).sum()), int((d < -1e-12).sum())
    out: dict[str, Any] = {
        "n": int(len(d)),
        "mean_diff": float(d.mean()) if len(d) else 0.0,
        "wins": wins,
        "ties": int(len(d)) - wins - losses,
        "losses": losses,
    }
    if len(d) < 2 or not np.any(np.abs(d) > 1e-12):
        out.update({"p_t": 1.0, "p_wilcoxon": 1.0, "p_permutation": 1.0})
        return out
    # Every case moved by the same non-zero amount: no variance, the t statistic is infinite.
    p_t = 0.0 if np.allclose(d, d[0]) else float(stats.ttest_rel(a, b).pvalue)
    p_w = float(stats.wilcoxon(a, b, zero_method="zsplit").pvalue)
    perm = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        n_resamples=resamples,
        alternative="two-sided",
        random_state=seed,
    )
    out.update({"p_t": p_t, "p_wilcoxon": p_w, "p_permutation": float(perm.pvalue)})
    return out


# --------------------------------------------------------------------------- methods

Ranker = Callable[[Any, Case, int], list[str]]


def _profile_occupations(service: Any, case: Case) -> list[str]:
    """The typed current occupation; if the facade does not accept free titles as profile
    occupations yet, its best ESCO match (through the facade's public normaliser)."""
    if not case.occupation.strip():
        return []
    try:
        service.taxonomy.resolve_occupation(case.occupation)
        return [case.occupation]
    except LookupError:
        hits = service.matching.normalize_occupation(case.occupation, k=1)
        return [hits[0].uri] if hits else []


def _request(service: Any, case: Case, k: int, method: str | None) -> Any:
    from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest

    payload: dict[str, Any] = {
        "target": case.target,
        "profile": LearnerProfile(
            occupations=_profile_occupations(service, case), text=case.text or None
        ),
        "k": k,
    }
    if method is not None and "ranking" in RecommendationRequest.model_fields:
        payload["ranking"] = method
    return RecommendationRequest(**payload)


def rank_skillpath(service: Any, case: Case, k: int) -> list[str]:
    """The facade's recommend, as a learner would call it."""
    response = service.recommend(_request(service, case, k, None))
    return [item.id for item in response.ranking.items]


def rank_coverage(service: Any, case: Case, k: int) -> list[str]:
    """The old ranking (gap coverage by ESCO URI overlap), where the facade offers the choice;
    until then it is what ``recommend`` does."""
    response = service.recommend(_request(service, case, k, "coverage"))
    return [item.id for item in response.ranking.items]


def rank_bm25(service: Any, case: Case, k: int) -> list[str]:
    """BM25 over title + outcomes + description, query = the typed target."""
    return [cid for cid, _ in service.catalogue.search_bm25(case.target, k)]


def rank_dense(service: Any, case: Case, k: int) -> list[str]:
    """MiniLM cosine of the typed target to the credential vectors (FAISS)."""
    return [cid for cid, _ in service.catalogue.search(case.target, k)]


RANKERS: dict[str, Ranker] = {
    "skillpath": rank_skillpath,
    "coverage": rank_coverage,
    "bm25": rank_bm25,
    "dense": rank_dense,
}


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    unknown = [m for m in methods if m not in RANKERS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}: use {', '.join(RANKERS)}")
    return tuple(dict.fromkeys(methods))


# --------------------------------------------------------------------------- the run


@dataclass
class JudgedResult:
    cases: int
    judged_pairs: int
    judgment_files: list[str]
    methods: dict[str, dict[str, float]]
    """method → metric → mean over cases."""
    per_case: dict[str, dict[str, dict[str, float]]]
    """method → case id → metric → value."""
    significance: dict[str, dict[str, dict[str, Any]]]
    """method → metric → test results, each method against ``baseline``."""
    baseline: str
    runs: dict[str, dict[str, list[str]]]
    conflicts: list[dict[str, Any]]
    seconds: dict[str, float]
    unjudged: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_runs(
    runs: Mapping[str, Mapping[str, Sequence[str]]],
    cases: Sequence[Case],
    grades: Judgments,
    canonical: Mapping[str, str] | None = None,
    baseline: str = "skillpath",
) -> tuple[dict, dict, dict]:
    """(means, per-case metrics, significance vs ``baseline``) for ready-made runs."""
    per_case: dict[str, dict[str, dict[str, float]]] = {}
    for method, lists in runs.items():
        per_case[method] = {
            c.id: case_metrics(list(lists.get(c.id, [])), grades.get(c.id, {}), canonical)
            for c in cases
        }
    means = {
        m: {metric: float(np.mean([row[metric] for row in rows.values()])) for metric in METRICS}
        if rows
        else dict.fromkeys(METRICS, 0.0)
        for m, rows in per_case.items()
    }
    sig: dict[str, dict[str, dict[str, Any]]] = {}
    if baseline in per_case:
        ids = [c.id for c in cases]
        for method in per_case:
            if method == baseline:
                continue
            sig[method] = {
                metric: paired_significance(
                    [per_case[baseline][i][metric] for i in ids],
                    [per_case[method][i][metric] for i in ids],
                )
                for metric in ("nDCG@10", "P@5")
            }
    return means, per_case, sig


def unjudged_items(
    service: Any,
    runs: Mapping[str, Mapping[str, Sequence[str]]],
    cases: Sequence[Case],
    grades: Judgments,
    canonical: Mapping[str, str],
    k: int = 10,
    excerpt_chars: int = 400,
) -> list[dict[str, Any]]:
    """Every (case, credential) in some method's top k that no judgment grades, pooled and
    sorted (never saying which method proposed it), with what a blind judge needs to see."""
    pooled: dict[tuple[str, str], None] = {}
    for lists in runs.values():
        for case in cases:
            judged = fold_grades(grades.get(case.id, {}), canonical)
            for cid in _fold(lists.get(case.id, [])[:k], canonical):
                if cid not in judged:
                    pooled.setdefault((case.id, cid), None)
    by_case = {c.id: c for c in cases}
    out = []
    for case_id, cid in sorted(pooled):
        record = service.catalogue.get(cid).record
        case = by_case[case_id]
        text = " ".join([*record.learning_outcomes, record.description or ""]).strip()
        out.append(
            {
                "case": case_id,
                "occupation": case.occupation,
                "text": case.text,
                "target": case.target,
                "credential": cid,
                "title": record.title,
                "provider": record.awarding_body,
                "languages": list(record.languages),
                "url": record.url,
                "excerpt": text[:excerpt_chars],
                "grade": None,
            }
        )
    return out


def run_judged(
    service: Any,
    cases: Sequence[Case],
    judgment_files: Sequence[tuple[str, Judgments]],
    methods: Sequence[str] = METHODS,
    k: int = 10,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
    with_unjudged: bool = False,
) -> JudgedResult:
    """Run every method on every case through the facade and score the lists."""
    import time

    methods = check_methods(methods)
    merged = merge_judgments(judgment_files)
    unknown = sorted(set(merged.grades) - {c.id for c in cases})
    canonical = service.catalogue.canonical_ids()
    runs: dict[str, dict[str, list[str]]] = {}
    seconds: dict[str, float] = {}
    for method in methods:
        ranker = RANKERS[method]
        advance = progress(method, len(cases)) if progress else None
        t0 = time.perf_counter()
        runs[method] = {}
        for case in cases:
            runs[method][case.id] = ranker(service, case, k)
            if advance:
                advance(1)
        seconds[method] = time.perf_counter() - t0
    baseline = "skillpath" if "skillpath" in runs else methods[0]
    means, per_case, sig = score_runs(runs, cases, merged.grades, canonical, baseline)
    result = JudgedResult(
        cases=len(cases),
        judged_pairs=sum(len(merged.grades.get(c.id, {})) for c in cases),
        judgment_files=[name for name, _ in judgment_files],
        methods=means,
        per_case=per_case,
        significance=sig,
        baseline=baseline,
        runs=runs,
        conflicts=merged.conflicts
        + [{"case": c, "note": "judged but not among the cases"} for c in unknown],
        seconds=seconds,
    )
    if with_unjudged:
        result.unjudged = unjudged_items(service, runs, cases, merged.grades, canonical)
    return result


def plot_judged(result: JudgedResult, path: Path) -> Path:
    """Bar chart of the mean metrics per method, plus each case's nDCG@10 as dots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(result.methods)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(METRICS))
    for i, m in enumerate(methods):
        left.bar(x + i * width, [result.methods[m][k] for k in METRICS], width, label=m)
    left.set_xticks(x + width * (len(methods) - 1) / 2, METRICS)
    left.set_ylim(0, 1)
    left.set_title(f"judged evaluation: means over {result.cases} cases")
    left.legend()
    case_ids = sorted(next(iter(result.per_case.values()), {}))
    for i, m in enumerate(methods):
        values = [result.per_case[m][c]["nDCG@10"] for c in case_ids]
        right.scatter(
            np.arange(len(case_ids)) + (i - len(methods) / 2) * 0.1, values, s=14, label=m
        )
    right.set_xticks(np.arange(len(case_ids)), case_ids, rotation=90, fontsize=7)
    right.set_ylim(-0.02, 1.02)
    right.set_title("nDCG@10 per case")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
