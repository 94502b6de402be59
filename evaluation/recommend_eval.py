"""Offline evaluation of recommendations on simulated learners, against baselines.

Relevance must not come from the system under test, or the evaluation only measures how
well skillpath agrees with itself. A credential is relevant to a learner in proportion to the
share of the learner's gap (target skills not held; essential weight 1, optional 0.3) that
its *reference skills* cover. Two lenses give reference skills, and both are reported:

``tag`` lens — the provider's own word
    Skills the provider attaches to the course: Coursera's "Skill gain" tags (linked to ESCO
    at import, link source ``tag``) and declared ESCO skills (ELM ``relatedESCOSkill``, OB3
    alignments, link source ``declared``). Skillpath is evaluated here with link sources
    ``declared`` + ``inferred`` only, so it never sees the tags. It does see the declared
    links, which are part of the reference: these are few (ELM/OB3 sample only) and this
    leak is stated in the report. Caveat: the tags were linked to ESCO by the same MiniLM
    matcher (top-1 >= 0.55) that infers skillpath's links, so the lenses share an encoder.
    What it can show: whether skillpath finds courses whose providers say they teach the
    gap. What it cannot: anything about courses without tags (they are outside the pool).

``text`` lens — literal mentions, a different method from the one evaluated
    ESCO label variants (preferred + alternative labels) found verbatim in the course's
    title, learning outcomes and description (:class:`LabelMatcher`). Exact phrase matching
    is independent of the embeddings skillpath maps outcomes with, and it reads the
    description, which skillpath does not map. It is precise but misses paraphrase.
    Skillpath runs here with its production sources (also ``tag``), and with ``declared`` +
    ``inferred`` for comparison with the tag lens.

``model`` lens — a different, stronger matcher reads the course text
    Skills extracted from title, learning outcomes and description (one statement per
    line) by the MiniLM + e5 ensemble matcher (``Settings.partner_encoder``), which beats
    skillpath's MiniLM matcher on RP@5, RP@10 and MRR on all three skill-extraction
    development splits, with higher extraction precision (``docs/benchmarks.md``). It
    reads the description, which skillpath's links do not, and adds a second encoder; but
    it shares MiniLM features and training data with the system under test, so it is
    *stronger*, not independent. Skillpath runs as under the text lens. Opt-in
    (``--lens model``): it needs the e5 index (built on first use, ~30 min on two cores);
    the per-credential result is cached by text, so reruns skip it.

Pool: under each lens every method ranks only credentials that have at least one reference
skill under that lens (judged items). Otherwise a method that likes untagged EU modules
would be punished for the lens' blind spot rather than for its choices.

Graded relevance: ``grade = round(100 * covered gap weight / gap weight)`` (an integer
percentage, as ranx needs integers); grade >= 1 counts as relevant for MAP/MRR/recall.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from skillpath.engine.config import Tuning
from skillpath.engine.recommendation import CatalogueSnapshot
from skillpath.engine.service import Skillpath
from skillpath.evaluation import metrics as M
from skillpath.evaluation.baselines import (
    BM25Baseline,
    DenseBaseline,
    PopularityBaseline,
    RandomBaseline,
    oracle_ranking,
)
from skillpath.evaluation.simulate import STRATA, Learner

OPTIONAL_WEIGHT = Tuning().optional_weight  # the lenses weigh the gap as the engine does
COVERAGE_TARGET = 0.8
SYSTEM_SOURCES = ("declared", "inferred")
ALL_SOURCES = ("declared", "inferred", "tag")
LENSES = ("tag", "text", "model")
DEFAULT_LENSES = ("tag", "text")
"""The model lens is opt-in (``--lens model``): its e5 index alone takes ~30 min to build on
two cores the first time, which would break the 30-minute budget of ``evaluate all``."""
MODEL_LENS_PARTNER = "e5"

LENS_TEXT = {
    "tag": (
        "tag lens: reference skills = provider skill tags (Coursera 'Skill gain', linked to "
        "ESCO) + declared ESCO skills (ELM/OB3). skillpath sees declared+inferred links only."
    ),
    "text": (
        "text lens: reference skills = ESCO labels found verbatim in title, outcomes and "
        "description (exact phrase match, independent of skillpath's embeddings)."
    ),
    "model": (
        "model lens: reference skills = ESCO skills the MiniLM+e5 ensemble matcher extracts "
        "from title, outcomes and description (a stronger matcher than skillpath's; shares "
        "its MiniLM features, so not independent)."
    ),
}

ProgressFactory = Callable[[str, int], Callable[[int], None]]


# --------------------------------------------------------------------------- relevance


def reference_gap(
    essential: Iterable[str],
    optional: Iterable[str],
    held: Iterable[str],
    optional_weight: float = OPTIONAL_WEIGHT,
) -> dict[str, float]:
    """The gap the metrics use: target skills the learner does not hold, by weight.

    Exact URIs only (no partial credit for similar held skills: that is a modelling choice
    of the system under test, not ground truth). A skill listed both essential and optional
    counts as essential.
    """
    held_set = set(held)
    gap = {uri: optional_weight for uri in optional if uri not in held_set}
    gap.update({uri: 1.0 for uri in essential if uri not in held_set})
    return gap


def relevance(reference: Iterable[str], gap: Mapping[str, float]) -> float:
    """Share of the gap weight that a credential's reference skills cover, in [0, 1]."""
    total = sum(gap.values())
    if total <= 0:
        return 0.0
    return sum(gap[s] for s in set(reference) if s in gap) / total


def grade(rel: float) -> int:
    """Integer grade for ranx: the covered share of the gap in whole percent (half up)."""
    if not 0.0 <= rel <= 1.0 + 1e-9:
        raise ValueError(f"relevance must be in [0, 1], got {rel!r}")
    return int(math.floor(100.0 * rel + 0.5))


def qrels_for(gap: Mapping[str, float], reference: Mapping[str, frozenset[str]]) -> dict[str, int]:
    """``{credential: grade}`` for every credential with grade >= 1 (the relevant ones)."""
    if not gap:
        return {}
    gap_keys = gap.keys()
    out: dict[str, int] = {}
    for cid, skills in reference.items():
        if skills & gap_keys:
            g = grade(relevance(skills, gap))
            if g > 0:
                out[cid] = g
    return out


# --------------------------------------------------------------------------- text lens

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9+#]*")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def cased_tokens(text: str) -> list[str]:
    """Word tokens without accents, case kept; keeps ``C++``, ``C#``."""
    return _TOKEN.findall(_fold(text))


def tokens(text: str) -> list[str]:
    """Lower-case word tokens without accents; keeps ``c++``, ``c#``."""
    return [t.casefold() for t in cased_tokens(text)]


class LabelMatcher:
    """Finds ESCO skills whose label variants occur verbatim (as whole token sequences).

    Rules, each to keep precision high: a variant that belongs to several skills is dropped
    (ambiguous); variants longer than ``max_tokens`` words are ignored (they never occur
    verbatim). One-word variants are where the noise is (ESCO lists "processes", "current",
    "patterns" as alternative labels), so a one-word variant counts only if it is the
    skill's *preferred* label (matched in any case), or a capitalised alternative label
    such as "Python" or "Hadoop" (matched with its exact case); it must have 3+ characters
    and not be an English stop word. After matching a corpus, :meth:`match_corpus` drops
    variants found in more than ``max_share`` of the documents ("data", "design"): they say
    nothing about one course. ``skills`` yields (uri, variants) with the preferred label
    first, as ``Skill.label_variants`` does.
    """

    def __init__(self, skills: Iterable[tuple[str, Iterable[str]]], max_tokens: int = 6) -> None:
        owners: dict[tuple[str, ...], set[str]] = {}
        for uri, variants in skills:
            for position, variant in enumerate(variants):
                raw = cased_tokens(variant)
                if not raw or len(raw) > max_tokens:
                    continue
                if len(raw) == 1:
                    word = raw[0]
                    if len(word) < 3 or word.casefold() in ENGLISH_STOP_WORDS:
                        continue
                    if position == 0:
                        key: tuple[str, ...] = (word.casefold(),)
                    elif word != word.casefold():
                        key = (word,)  # exact case: "Python", not "python"
                    else:
                        continue
                else:
                    key = tuple(t.casefold() for t in raw)
                owners.setdefault(key, set()).add(uri)
        self.phrases = {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}
        self.max_tokens = max(map(len, self.phrases), default=0)
        self.stop_phrases: list[str] = []

    def phrases_in(self, text: str) -> set[tuple[str, ...]]:
        raw = cased_tokens(text)
        toks = [t.casefold() for t in raw]
        found: set[tuple[str, ...]] = set()
        for i in range(len(toks)):
            if (raw[i],) in self.phrases:
                found.add((raw[i],))
            for n in range(1, min(self.max_tokens, len(toks) - i) + 1):
                key = tuple(toks[i : i + n])
                if key in self.phrases:
                    found.add(key)
        return found

    def match_corpus(
        self, texts: Mapping[str, str], max_share: float = 0.05
    ) -> dict[str, frozenset[str]]:
        """``{doc id: skill URIs}`` over a corpus, without the corpus' stop phrases."""
        found = {cid: self.phrases_in(text) for cid, text in texts.items()}
        df = Counter(p for phrases in found.values() for p in phrases)
        limit = max(1, int(max_share * len(texts)))
        stop = {p for p, n in df.items() if n > limit}
        self.stop_phrases = sorted(" ".join(p) for p in stop)
        return {
            cid: frozenset(self.phrases[p] for p in phrases - stop)
            for cid, phrases in found.items()
        }


# --------------------------------------------------------------------------- inputs


@dataclass
class CatalogueData:
    """The catalogue as the evaluation sees it, read once from the facade."""

    snapshot: CatalogueSnapshot
    texts: dict[str, str]
    rating: dict[str, float | None]
    reviews: dict[str, int | None]
    hours: dict[str, float | None]
    vectors: dict[str, np.ndarray]
    sources: dict[str, str]
    statements: dict[str, str] = field(default_factory=dict)
    """Title, outcomes and description, one per line (what the model lens reads)."""

    @property
    def size(self) -> int:
        return len(self.texts)


def load_catalogue(service: Skillpath) -> CatalogueData:
    """Texts, popularity, workload (hours, or ECTS x 30 as the ranking does) and vectors."""
    from skillpath.engine.catalogue.vectors import credential_text
    from skillpath.engine.ranking import hours_estimate

    snapshot = service.catalogue.snapshot()
    texts, rating, reviews, hours, sources = {}, {}, {}, {}, {}
    statements: dict[str, str] = {}
    for stored in service.catalogue.iter_all():
        r = stored.record
        texts[r.id] = credential_text(r, max_chars=20_000)
        statements[r.id] = "\n".join([r.title, *r.learning_outcomes, r.description or ""])
        rating[r.id], reviews[r.id] = r.rating, r.review_count
        hours[r.id] = hours_estimate(snapshot.entries[r.id].candidate(()))
        sources[r.id] = r.source
    found = service.catalogue.credential_vectors()
    vectors = {cid: found.matrix[i] for cid, i in found.position.items() if cid in texts}
    return CatalogueData(snapshot, texts, rating, reviews, hours, vectors, sources, statements)


@dataclass(frozen=True)
class Lens:
    name: str
    description: str
    reference: dict[str, frozenset[str]]  # only credentials with >= 1 reference skill
    notes: list[str] = field(default_factory=list)


def tag_lens(data: CatalogueData) -> Lens:
    reference: dict[str, frozenset[str]] = {}
    declared = 0
    for cid, entry in data.snapshot.entries.items():
        skills = frozenset(x.skill_uri for x in entry.links if x.source in ("tag", "declared"))
        declared += sum(1 for x in entry.links if x.source == "declared")
        if skills:
            reference[cid] = skills
    notes = [f"{declared} declared links (the part of the reference skillpath can see)"]
    return Lens("tag", LENS_TEXT["tag"], reference, notes)


def text_lens(data: CatalogueData, skills: Iterable[Any], max_share: float = 0.05) -> Lens:
    matcher = LabelMatcher((s.uri, s.label_variants) for s in skills)
    found = matcher.match_corpus(data.texts, max_share)
    reference = {cid: s for cid, s in found.items() if s}
    notes = [
        f"{len(matcher.phrases):,} unambiguous label variants; "
        f"{len(matcher.stop_phrases)} stop phrases (in > {max_share:.0%} of credentials)"
        + (f", e.g. {', '.join(matcher.stop_phrases[:8])}" if matcher.stop_phrases else "")
    ]
    return Lens("text", LENS_TEXT["text"], reference, notes)


Extract = Callable[[list[str]], list[Any]]
"""Texts -> one extraction (with ``.uris``) per text: a facade's ``extract_skills_batch``."""


def model_lens(
    data: CatalogueData,
    extract: Extract,
    matcher: str,
    progress: ProgressFactory | None = None,
    chunk: int = 128,
    cached: Mapping[str, Sequence[str]] | None = None,
) -> Lens:
    """Reference skills = what ``extract`` finds in each credential's statements.

    ``cached`` (credential id -> skill URIs from an earlier run on the same catalogue
    revision and matcher) is reused; only the other credentials are read.
    """
    cached = cached or {}
    todo = [cid for cid in sorted(data.statements) if cid not in cached]
    found: dict[str, frozenset[str]] = {c: frozenset(u) for c, u in cached.items()}
    advance = progress("model lens: reading course texts", len(todo)) if progress else None
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        for cid, extraction in zip(part, extract([data.statements[c] for c in part]), strict=True):
            found[cid] = frozenset(extraction.uris)
        if advance:
            advance(len(part))
    reference = {cid: s for cid, s in found.items() if s and cid in data.statements}
    pairs = sum(len(s) for s in reference.values())
    notes = [
        f"matcher {matcher}: {pairs:,} (credential, skill) pairs over {len(reference):,} of "
        f"{len(data.statements):,} credentials ({len(cached):,} read from the lens cache)"
    ]
    return Lens("model", LENS_TEXT["model"], reference, notes)


def _lens_cache_path(service: Skillpath, matcher: Skillpath) -> Path:
    folder = service.settings.embedding_cache_path.parent
    return (
        folder
        / f"lens-model-{matcher.matching.matcher_name}-{matcher.matching.matcher_fingerprint}.json"
    )


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def sample_statements(data: CatalogueData, sample: int | None, seed: int = 0) -> CatalogueData:
    """``data`` with the statements of a fixed-seed sample of credentials (all if None)."""
    if not sample or sample >= len(data.statements):
        return data
    chosen = random.Random(seed).sample(sorted(data.statements), sample)
    return replace(data, statements={c: data.statements[c] for c in sorted(chosen)})


def stronger_model_lens(
    service: Skillpath,
    data: CatalogueData,
    progress: ProgressFactory | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> Lens:
    """The model lens with the MiniLM+e5 ensemble, building the e5 index if it is missing.

    ``sample`` credentials (fixed seed) are read, or all of them; the pool is then those of
    the sample with a reference skill. Results are cached per credential text (beside the
    embedding cache), so a rerun on the same catalogue reads nothing again.
    """
    total = len(data.statements)
    data = sample_statements(data, sample, seed)

    matcher = service.with_partner(MODEL_LENS_PARTNER)
    if not matcher.matching.partner.indexes_ready():  # the main encoder's are in use already
        matcher.matching.partner.build_indexes(progress)
    path = _lens_cache_path(service, matcher)
    known: dict[str, list[str]] = {}
    if path.exists():
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = {}  # a damaged cache is only lost work
    keys = {cid: _text_key(text) for cid, text in data.statements.items()}
    cached = {cid: known[key] for cid, key in keys.items() if key in known}
    lens = model_lens(
        data,
        lambda texts: matcher.matching.extract_skills_batch(texts),
        matcher.matching.matcher_name,
        progress,
        cached=cached,
    )
    fresh = {keys[cid]: sorted(lens.reference.get(cid, ())) for cid in data.statements}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**known, **fresh}), encoding="utf-8")
    os.replace(tmp, path)  # a crash mid-write keeps the previous cache
    if len(data.statements) < total:
        lens.notes.append(
            f"a fixed-seed sample of {len(data.statements):,} of {total:,} credentials was "
            "read (the pool is drawn from it)"
        )
    if service.settings.partner_encoder == MODEL_LENS_PARTNER:
        lens.notes.append("warning: the system under test uses this same ensemble matcher")
    return lens


# --------------------------------------------------------------------------- skillpath runner


class SkillpathRunner:
    """skillpath's ranked list and pathway over a pool, with chosen link sources.

    The snapshot is rebuilt with only the pool's credentials and only the allowed link
    sources, so retrieval, neighbours and ranking never see a hidden link.
    """

    def __init__(
        self,
        service: Skillpath,
        pool: Iterable[str],
        sources: Sequence[str],
        k: int,
        max_pathway_items: int = 6,
    ) -> None:
        self.service, self.sources, self.k = service, tuple(sources), k
        self.max_pathway_items = max_pathway_items
        self.snapshot = service.catalogue.pool_snapshot(pool, self.sources)

    def run(self, learner: Learner) -> tuple[list[str], list[str], float]:
        """(ranked ids, pathway ids in learning order, seconds for gap + ranking + pathway)."""
        from skillpath.engine.recommendation import LearnerProfile

        started = time.perf_counter()
        gap = self.service.compute_gap(
            learner.target_uri, LearnerProfile(skills=list(learner.held))
        ).gap
        ranking, _, pathway, _, _ = self.service.recommender.recommend_for_gap(
            gap,
            self.snapshot,
            k=self.k,
            max_pathway_items=self.max_pathway_items,
            sources=self.sources,
        )
        seconds = time.perf_counter() - started
        return [i.id for i in ranking.items], [s.id for s in pathway.steps], seconds


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class EvalConfig:
    k: int = 10
    depth: int = 20
    lenses: tuple[str, ...] = DEFAULT_LENSES
    seed: int = 0
    family_threshold: float = 0.8
    model_sample: int | None = 1500
    """Credentials the model lens reads (fixed-seed sample; None = all). The ensemble reads
    ~26 statements/s on two cores: the lens took 580 s in all for 1,500 credentials (its
    ranking included), so all 9,436 would take up to an hour."""


@dataclass
class LearnerContext:
    learner: Learner
    gap: dict[str, float]
    family_essential: dict[str, frozenset[str]]
    query_text: str
    query_vector: np.ndarray


def learner_contexts(service: Skillpath, learners: Sequence[Learner]) -> list[LearnerContext]:
    """Per learner: the reference gap, the target's ISCO-minor family, the occupation query."""
    store = service.store
    by_minor: dict[str, list[str]] = {}
    for o in service.taxonomy.occupations:
        if o.isco_group:
            by_minor.setdefault(o.isco_group[:3], []).append(o.uri)
    essential_cache: dict[str, frozenset[str]] = {}

    def essential(uri: str) -> frozenset[str]:
        if uri not in essential_cache:
            essential_cache[uri] = frozenset(store.essential_skills(uri))
        return essential_cache[uri]

    texts, out = [], []
    for le in learners:
        occ = store.occupation(le.target_uri)
        relations = store.occupation_skills(le.target_uri)
        gap = reference_gap(
            [u for u, r in relations if r == "essential"],
            [u for u, r in relations if r == "optional"],
            le.held,
        )
        family = by_minor.get((occ.isco_group or "")[:3], [le.target_uri])
        text = f"{occ.preferred_label}. {occ.description or ''}".strip()
        texts.append(text)
        out.append(LearnerContext(le, gap, {u: essential(u) for u in family}, text, np.zeros(0)))
    vectors = service.encoder.encode_queries(texts)
    for ctx, vec in zip(out, vectors, strict=True):
        ctx.query_vector = vec
    return out


def list_metrics(
    ranked: Sequence[str],
    ctx: LearnerContext,
    reference: Mapping[str, frozenset[str]],
    hours: Mapping[str, float | None],
    k: int,
    threshold: float,
    reachable: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The per-learner numbers of one list, all measured with the lens' reference skills.

    ``reachable`` is the part of the gap that some credential of the pool covers at all;
    80% of *it* is a target a list can meet even when the catalogue cannot teach most of
    the occupation (80% of the whole gap is then out of anyone's reach).
    """
    ranked = list(ranked)
    row: dict[str, Any] = {"length": len(ranked)}
    for cut in (5, k):
        row[f"gap_coverage@{cut}"] = M.gap_coverage_at_k(ranked, reference, ctx.gap, cut)
    work = M.workload_to_reach(ranked, reference, ctx.gap, hours, COVERAGE_TARGET)
    row["reached_80"] = work.reached
    row["hours_to_80"] = work.workload
    row["unknown_workload"] = work.unknown
    if reachable:
        work = M.workload_to_reach(ranked, reference, reachable, hours, COVERAGE_TARGET)
        row["reached_80_reachable"], row["hours_to_80_reachable"] = work.reached, work.workload
    else:
        row["reached_80_reachable"], row["hours_to_80_reachable"] = False, None
    acquired = set().union(*(reference[c] for c in ranked[:k])) if ranked else set()
    emp = M.employability_gain(
        ctx.learner.held, acquired, ctx.family_essential, ctx.family_essential.keys(), threshold
    )
    row["employability_gain@10"] = emp.gain
    row["family_size"] = len(ctx.family_essential)
    row["ild@10"] = M.intra_list_diversity(ranked, reference, k) if ranked else 0.0
    curve_cov, curve_hours, spent, taught = [], [], 0.0, set()
    total = sum(ctx.gap.values())
    for cid in ranked:
        taught |= reference[cid]
        spent += hours.get(cid) or 0.0
        curve_cov.append(sum(w for s, w in ctx.gap.items() if s in taught) / total)
        curve_hours.append(spent)
    row["curve_coverage"], row["curve_hours"] = curve_cov, curve_hours
    return row


SCALAR_METRICS = (
    "gap_coverage@5",
    "gap_coverage@10",
    "reached_80",
    "reached_80_reachable",
    "employability_gain@10",
    "ild@10",
    "length",
)


def _aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    if not rows:
        return {}
    out: dict[str, float | None] = {m: float(np.mean([r[m] for r in rows])) for m in SCALAR_METRICS}
    for key in ("hours_to_80", "hours_to_80_reachable"):
        hours = [r[key] for r in rows if r[key] is not None]
        out[f"median_{key}"] = float(np.median(hours)) if hours else None
    out["share_with_employability_gain"] = float(
        np.mean([r["employability_gain@10"] > 0 for r in rows])
    )
    return out


def _ir(runs: Mapping[str, list[str]], qrels: Mapping[str, dict[str, int]], k: int) -> dict:
    judged = {q: g for q, g in qrels.items() if g}
    if not judged:
        return {}
    return M.graded_metrics({q: runs.get(q, []) for q in judged}, judged, ks=(k,))


def evaluate_lens(
    service: Skillpath,
    data: CatalogueData,
    lens: Lens,
    contexts: Sequence[LearnerContext],
    config: EvalConfig,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Every method on one lens: per-learner rows, overall and per-stratum summaries."""
    pool = sorted(lens.reference)
    reference = lens.reference
    k, depth = config.k, config.depth
    runners = {"skillpath": SkillpathRunner(service, pool, SYSTEM_SOURCES, depth)}
    if lens.name != "tag":
        runners["skillpath+tags"] = SkillpathRunner(service, pool, ALL_SOURCES, depth)
    for runner in runners.values():  # one-time loads (vectors, caches) are not latency
        if contexts:
            runner.run(contexts[0].learner)
    taught = set().union(*reference.values()) if reference else set()
    reachable = {c.learner.id: {s: w for s, w in c.gap.items() if s in taught} for c in contexts}
    rand = RandomBaseline(pool, config.seed)
    pop = PopularityBaseline(pool, data.rating, data.reviews)
    bm25 = BM25Baseline(pool, data.texts)
    dense = DenseBaseline(pool, data.vectors)

    runs: dict[str, dict[str, list[str]]] = {}
    seconds: dict[str, list[float]] = {}
    qrels: dict[str, dict[str, int]] = {}

    def record(method: str, qid: str, ranked: list[str], dt: float) -> None:
        runs.setdefault(method, {})[qid] = ranked
        seconds.setdefault(method, []).append(dt)

    advance = progress(f"{lens.name} lens: ranking", len(contexts)) if progress else None
    for ctx in contexts:
        qid = ctx.learner.id
        qrels[qid] = qrels_for(ctx.gap, reference)
        for name, runner in runners.items():
            ranked, path, dt = runner.run(ctx.learner)
            record(name, qid, ranked, dt)
            record(f"{name} pathway", qid, path, dt)
        for name in ("random", "popularity", "bm25", "dense", "oracle"):
            started = time.perf_counter()
            if name == "random":
                ranked = rand.rank(qid, depth)
            elif name == "popularity":
                ranked = pop.rank(depth)
            elif name == "bm25":
                ranked = bm25.rank(ctx.query_text, depth)
            elif name == "dense":
                ranked = dense.rank(ctx.query_vector, depth)
            else:
                ranked = oracle_ranking(ctx.gap, reference, depth)
            record(name, qid, ranked, time.perf_counter() - started)
        if advance:
            advance(1)

    by_id = {ctx.learner.id: ctx for ctx in contexts}
    strata = {s: [c.learner.id for c in contexts if c.learner.stratum == s] for s in STRATA}
    methods: dict[str, Any] = {}
    for method, method_runs in runs.items():
        rows = {
            qid: list_metrics(
                ranked,
                by_id[qid],
                reference,
                data.hours,
                k,
                config.family_threshold,
                reachable[qid],
            )
            for qid, ranked in method_runs.items()
        }
        summary = {
            "overall": {
                **_ir(method_runs, qrels, k),
                **_aggregate(list(rows.values())),
                "catalogue_coverage@10": M.catalogue_coverage(
                    method_runs.values(), max(1, len(pool)), k
                ),
            },
            "strata": {
                s: {
                    **_ir({q: method_runs[q] for q in ids}, {q: qrels[q] for q in ids}, k),
                    **_aggregate([rows[q] for q in ids]),
                }
                for s, ids in strata.items()
                if ids
            },
            "latency": M.latency_summary(seconds[method]).as_dict(),
            "curve": _mean_curve(list(rows.values()), depth),
            "per_learner": {
                qid: {m: v for m, v in row.items() if not m.startswith("curve_")}
                for qid, row in rows.items()
            },
        }
        methods[method] = summary

    reachable_share = [
        relevance(set().union(*(reference[c] for c in q)) if q else set(), by_id[qid].gap)
        for qid, q in qrels.items()
    ]
    system = runners["skillpath"].snapshot.entries
    blind = sum(1 for cid in pool if not system[cid].links)
    visible = [sum(1 for c in q if system[c].links) / len(q) for q in qrels.values() if q]
    return {
        "description": lens.description,
        "notes": lens.notes,
        "pool_size": len(pool),
        "pool_by_source": dict(Counter(data.sources[c] for c in pool)),
        "learners": len(contexts),
        "learners_with_relevant": sum(1 for q in qrels.values() if q),
        "mean_relevant_per_learner": float(np.mean([len(q) for q in qrels.values()])),
        "mean_reachable_gap": float(np.mean(reachable_share)) if reachable_share else 0.0,
        "pool_without_system_links": blind,
        "relevant_visible_to_skillpath": float(np.mean(visible)) if visible else 0.0,
        "paired_gap_coverage@10": paired(methods, "skillpath", "gap_coverage@10"),
        "significance": _safe_significance(runs, qrels),
        "methods": methods,
    }


def _safe_significance(runs: Mapping[str, Any], qrels: Mapping[str, Any]) -> Any:
    others = [m for m in runs if m not in ("skillpath", "oracle")]
    try:
        return significance(runs, qrels, "skillpath", others)
    except Exception as exc:  # noqa: BLE001 - a failed test must not cost the whole report
        return f"significance test failed: {type(exc).__name__}: {exc}"


def paired(methods: Mapping[str, Any], system: str, metric: str) -> dict[str, dict[str, int]]:
    """Per-learner wins/ties/losses of ``system`` against every other method on ``metric``.

    Means hide whether a method is better for most learners or much better for a few;
    the paired counts say which.
    """
    mine = methods[system]["per_learner"]
    out: dict[str, dict[str, int]] = {}
    for name, summary in methods.items():
        if name == system:
            continue
        other = summary["per_learner"]
        counts = {"wins": 0, "ties": 0, "losses": 0}
        for qid, row in mine.items():
            a, b = row[metric], other[qid][metric]
            key = "ties" if abs(a - b) <= 1e-9 else ("wins" if a > b else "losses")
            counts[key] += 1
        out[name] = counts
    return out


SIGNIFICANCE_METRICS = ("ndcg@10", "map", "mrr")


def significance(
    runs: Mapping[str, Mapping[str, list[str]]],
    qrels: Mapping[str, Mapping[str, int]],
    system: str,
    others: Sequence[str],
) -> dict[str, Any]:
    """Paired two-sided t-tests (ranx ``compare``) of ``system`` against each other method,
    over the learners with a relevant credential: p-values and per-learner W/T/L.

    A mean lead of 0.01 nDCG over 300 learners can be noise; the p-value says how likely.
    No correction for multiple comparisons is applied (a handful of planned comparisons).
    """
    from ranx import Qrels, Run, compare

    judged = {q: dict(g) for q, g in qrels.items() if g}
    if len(judged) < 2:
        return {}

    def as_run(name: str) -> Run:
        out = {}
        for q in judged:
            ranked = runs[name].get(q, [])
            out[q] = {cid: float(len(ranked) - i) for i, cid in enumerate(ranked)}
        return Run(out, name=name)

    names = [system, *[o for o in others if o in runs]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare(
            Qrels(judged),
            [as_run(n) for n in names],
            list(SIGNIFICANCE_METRICS),
            stat_test="student",
            max_p=0.05,
        ).to_dict()
    mine = report[system]
    return {
        other: {
            "p": {m: float(mine["comparisons"][other][m]) for m in SIGNIFICANCE_METRICS},
            "wtl_ndcg@10": mine["win_tie_loss"][other]["ndcg@10"],
        }
        for other in names[1:]
    }


def _mean_curve(rows: Sequence[dict[str, Any]], depth: int) -> dict[str, list[float]]:
    """Mean coverage and median cumulative hours at each rank (lists end early: carried)."""
    cov, hrs = [], []
    for r in range(depth):
        c = [
            row["curve_coverage"][min(r, len(row["curve_coverage"]) - 1)]
            for row in rows
            if row["curve_coverage"]
        ]
        h = [
            row["curve_hours"][min(r, len(row["curve_hours"]) - 1)]
            for row in rows
            if row["curve_hours"]
        ]
        cov.append(float(np.mean(c + [0.0] * (len(rows) - len(c)))) if rows else 0.0)
        hrs.append(float(np.median(h)) if h else 0.0)
    return {"coverage": cov, "median_hours": hrs}


def run_recommend_eval(
    service: Skillpath,
    learners: Sequence[Learner],
    config: EvalConfig | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """The whole recommendation evaluation: every lens, every method, every learner."""
    config = config or EvalConfig()
    started = time.perf_counter()
    data = load_catalogue(service)
    if not data.size:
        raise ValueError("the catalogue is empty: run `skillpath catalogue import` first")
    contexts = learner_contexts(service, learners)
    lenses: dict[str, Any] = {}
    timings: dict[str, float] = {"load": time.perf_counter() - started}
    for name in config.lenses:
        t0 = time.perf_counter()
        if name == "tag":
            lens = tag_lens(data)
        elif name == "text":
            lens = text_lens(data, service.taxonomy.skills)
        else:
            lens = stronger_model_lens(service, data, progress, config.model_sample, config.seed)
        lenses[name] = evaluate_lens(service, data, lens, contexts, config, progress)
        timings[name] = time.perf_counter() - t0
    return {
        "config": {
            "k": config.k,
            "depth": config.depth,
            "lenses": list(config.lenses),
            "seed": config.seed,
            "optional_weight": OPTIONAL_WEIGHT,
            "coverage_target": COVERAGE_TARGET,
            "family_threshold": config.family_threshold,
            "system_sources": list(SYSTEM_SOURCES),
            "model_sample": config.model_sample if "model" in config.lenses else None,
        },
        "catalogue": {
            "size": data.size,
            "by_source": dict(Counter(data.sources.values())),
            "revision": service.catalogue.revision,
        },
        "learners": {
            "n": len(learners),
            "strata": {s: sum(1 for le in learners if le.stratum == s) for s in STRATA},
        },
        "lenses": lenses,
        "seconds": {**timings, "total": time.perf_counter() - started},
    }
