"""Train the learned job-title model (``models/artifacts/titles-minilm+e5.npz``).

What is learned, and on what:

* **English weights**: a linear model over :data:`~skillpath.engine.matching.TITLE_FEATURES`
  (MiniLM and e5 label/preferred cosines, ISCO-group context, lexical overlap, exact label),
  trained *listwise* (softmax over each title's candidate occupations, gold included) on the
  JobBERT **validation** titles only, with 5-fold cross-validation grouped by title text (no
  title in both a train and a test fold). The reported number is the out-of-fold MRR over
  the full ranking of all 3,007 occupations.
* **Other-language weights**: the same listwise fit on the same English titles but reading
  only the encoder-agnostic and e5 features (no TF-IDF over English labels, no MiniLM,
  which is English-only). No MELO data is learned from: the MELO dev files only choose
  between the candidate recipes printed by ``--melo``.
* **Confidence**: a logistic model of "the top occupation is the gold one" from the head of
  each out-of-fold ranking (top probability, margin, exact-label owners); the threshold for
  "ambiguous" is 0.5, i.e. the matcher says it is confident only when it expects to be right
  more often than not.

Also compared (``--sets``): a per-occupation **prior** (how often JobBERT titles name each
occupation, leave-one-out in training) and a MiniLM title **adapter**. The prior lifts the
JobBERT CV MRR from 0.389 to 0.438 but drops MELO US-English from 0.70 to 0.32: it learns
JobBERT's skewed label distribution, not title matching, so it is not shipped.

Reproduce (what ships): ``python -m skillpath.evaluation.train_titles --sets base --kinds
english --other-set base`` (needs the MiniLM and e5 occupation indexes: ``skillpath index
build``), then ``--melo`` to print the MELO dev comparison and routing thresholds.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from skillpath.engine.matching import (
    TITLE_FEATURES,
    OccupationMatcher,
    TitleModel,
    clean_query,
    confidence_features,
)
from skillpath.engine.service import Skillpath
from skillpath.engine.targets import TITLE_PARTNER, title_model_path
from skillpath.evaluation.benchmarks import default_shared_dir, load_title_benchmark
from skillpath.models.adapter import FusionModel, LinearAdapter, train_adapter

OTHER_FEATURES: tuple[str, ...] = ("exact", "e5:label", "e5:preferred", "e5:group")
"""What the non-English weights read: e5 is multilingual, MiniLM and the English TF-IDF
are not (they match a German title by the English words it happens to contain)."""

CANDIDATES = 64
FOLDS = 5
SEED = 13


@dataclass
class TitleData:
    """Dense base features (float16, titles x occupations per feature), the gold positions
    and both encoders' title vectors (for the fold-wise adapter)."""

    titles: list[str]
    gold: np.ndarray
    features: dict[str, np.ndarray]
    vectors: np.ndarray
    partner_vectors: np.ndarray


BASE_FEATURES = TITLE_FEATURES
EXTRA_SETS: dict[str, tuple[str, ...]] = {
    "base": (),
    "+prior": ("prior",),
    "+prior+adapter": ("prior", "adapted:label", "adapted:preferred", "adapted:group"),
}
"""Feature sets compared by cross-validation on JobBERT validation (the best one ships)."""


def title_data(
    sp: Skillpath, matcher: OccupationMatcher, path: Path, chunk: int = 512
) -> TitleData:
    occupations = sp.taxonomy.occupations
    position = {o.uri: i for i, o in enumerate(occupations)}
    bench = load_title_benchmark(path, list(position))
    titles = [clean_query(q.title, "job title", 500) for q in bench.queries]
    gold = np.asarray([position[q.occupation_uri] for q in bench.queries], dtype=np.int64)
    vectors = sp.matching.encode_queries(titles, cache=True)
    partner_vectors = sp.matching.encode_title_queries(titles, cache=True)
    assert partner_vectors is not None
    feats: dict[str, np.ndarray] = {
        f: np.empty((len(titles), len(occupations)), dtype=np.float16) for f in BASE_FEATURES
    }
    bare = replace(matcher, model=None)  # base features only; extras are fold-wise
    for start in range(0, len(titles), chunk):
        stop = start + chunk
        part = bare.features(titles[start:stop], vectors[start:stop], partner_vectors[start:stop])
        for f in BASE_FEATURES:
            feats[f][start:stop] = part[f]
    return TitleData(titles, gold, feats, vectors, partner_vectors)


@dataclass
class Extras:
    """Fold-wise learned inputs: occupation prior counts and a MiniLM title adapter."""

    counts: np.ndarray
    adapter: LinearAdapter | None
    matcher: OccupationMatcher
    loo: bool = False
    """Leave-one-out prior: a training title does not count towards its own gold."""

    def prior(self, gold: np.ndarray | None, n: int) -> np.ndarray:
        counts = np.broadcast_to(self.counts.astype(np.float32), (n, len(self.counts))).copy()
        if self.loo and gold is not None:
            counts[np.arange(n), gold] -= 1
        scale = max(float(np.log1p(self.counts.max())), 1.0)
        return np.log1p(np.maximum(counts, 0)) / scale

    def prior_row(self) -> np.ndarray:
        scale = max(float(np.log1p(self.counts.max())), 1.0)
        return (np.log1p(self.counts) / scale).astype(np.float32)


def fit_adapter(data: TitleData, matcher: OccupationMatcher, rows: np.ndarray) -> LinearAdapter:
    return train_adapter(
        data.vectors[rows],
        [[int(g)] for g in data.gold[rows]],
        matcher._preferred,
        epochs=5,
        seed=SEED,
    )


def block(
    data: TitleData,
    rows: np.ndarray,
    names: tuple[str, ...],
    extras: Extras | None,
    cols: np.ndarray | None = None,
    adapters: list[tuple[np.ndarray, LinearAdapter]] | None = None,
) -> np.ndarray:
    """Feature tensor (rows, columns, features): all occupations, or ``cols`` per row.

    ``adapters`` gives, per subset of ``rows``, the adapter applied to it (out-of-fold
    adapted features for training rows); default: ``extras.adapter`` for every row."""
    n_occ = data.features["label"].shape[1]
    width = n_occ if cols is None else cols.shape[1]
    out = np.empty((len(rows), width, len(names)), dtype=np.float32)
    adapted_names = [f for f in names if f.startswith("adapted:")]
    adapted: dict[str, np.ndarray] = {}
    if adapted_names:
        assert extras is not None
        plan = adapters or [(np.arange(len(rows)), extras.adapter)]
        adapted = {f: np.empty((len(rows), width), dtype=np.float32) for f in adapted_names}
        for subset, adapter in plan:
            assert adapter is not None
            for start in range(0, len(subset), 1024):
                part = subset[start : start + 1024]
                dense = extras.matcher.dense_features(
                    adapter.apply(data.vectors[rows[part]]), "adapted:"
                )
                for f in adapted_names:
                    values = (
                        dense[f] if cols is None else np.take_along_axis(dense[f], cols[part], 1)
                    )
                    adapted[f][part] = values
    for k, f in enumerate(names):
        if f in adapted:
            out[:, :, k] = adapted[f]
        elif f == "prior":
            assert extras is not None
            prior = extras.prior(data.gold[rows], len(rows))
            out[:, :, k] = prior if cols is None else np.take_along_axis(prior, cols, axis=1)
        else:
            values = data.features[f][rows]
            out[:, :, k] = values if cols is None else np.take_along_axis(values, cols, axis=1)
    return out


def candidates(data: TitleData, rows: np.ndarray, k: int = CANDIDATES) -> np.ndarray:
    """Each title's hardest occupations (by MiniLM and e5 best label) with the gold first."""
    mixed = data.features["label"][rows].astype(np.float32) + data.features["e5:label"][
        rows
    ].astype(np.float32)
    top = np.argpartition(-mixed, k, axis=1)[:, :k]
    gold = data.gold[rows]
    top = np.where(top == gold[:, None], top[:, [k - 1]], top)  # drop gold from the negatives
    return np.concatenate([gold[:, None], top[:, : k - 1]], axis=1)


def fit_listwise(x: np.ndarray, l2: float = 1e-3, epochs: int = 300) -> np.ndarray:
    """Weights maximising the softmax likelihood of column 0 (the gold) in each row.

    Features are scaled to unit spread first, so the L2 penalty treats them alike (e5's
    cosines span a much narrower range than MiniLM's and need larger raw weights)."""
    spread = x.reshape(-1, x.shape[-1]).std(axis=0) + 1e-6
    x = x / spread
    xt = torch.from_numpy(x.astype(np.float32))
    w = torch.zeros(x.shape[-1], requires_grad=True)
    optimiser = torch.optim.LBFGS([w], lr=0.5, max_iter=epochs, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = xt @ w
        loss = -torch.log_softmax(logits, dim=1)[:, 0].mean() + l2 * (w**2).sum()
        loss.backward()
        return loss

    torch.manual_seed(SEED)
    optimiser.step(closure)
    return w.detach().numpy().astype(np.float64) / spread


def scores(
    data: TitleData, rows: np.ndarray, names: tuple[str, ...], w: np.ndarray, extras: Extras | None
) -> np.ndarray:
    """Linear scores of every occupation for ``rows`` (chunked: bounded memory)."""
    n_occ = data.features["label"].shape[1]
    z = np.empty((len(rows), n_occ), dtype=np.float32)
    for start in range(0, len(rows), 1000):
        part = rows[start : start + 1000]
        x = block(data, part, names, extras)
        if extras is not None and "prior" in names:  # a scored title is never its own count
            x[:, :, names.index("prior")] = extras.prior_row()
        z[start : start + 1000] = x @ np.asarray(w, dtype=np.float32)
    return z


def ranks_of_gold(z: np.ndarray, gold: np.ndarray) -> np.ndarray:
    g = z[np.arange(len(z)), gold]
    return 1 + (z > g[:, None]).sum(axis=1)  # ties count in the gold's favour


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / ranks))


def folds(titles: list[str], k: int = FOLDS) -> np.ndarray:
    """Fold of each title, grouped by case-folded text (duplicates stay together)."""
    keys = sorted({t.casefold() for t in titles})
    rng = np.random.default_rng(SEED)
    fold_of = dict(zip(keys, rng.permutation(len(keys)) % k, strict=True))
    return np.asarray([fold_of[t.casefold()] for t in titles])


def calibrate(z: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """(scale, bias) making sigmoid(scale*z + bias) a probability that a candidate is gold,
    fitted on the head of each ranking (top 20 candidates), which is where it is read."""
    from sklearn.linear_model import LogisticRegression

    top = np.argpartition(-z, 20, axis=1)[:, :20]
    xs = np.take_along_axis(z, top, axis=1).reshape(-1, 1)
    ys = (top == gold[:, None]).reshape(-1)
    model = LogisticRegression(C=100.0).fit(xs, ys)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


@dataclass
class Fitted:
    fusion: FusionModel
    extras: Extras | None


def fit(
    data: TitleData, matcher: OccupationMatcher, rows: np.ndarray, names: tuple[str, ...]
) -> Fitted:
    """Fit one fusion on ``rows``: extras (prior, adapter) from those rows only; the fusion
    reads out-of-fold adapted features (two half adapters) and leave-one-out priors."""
    extras = None
    halves = None
    if "prior" in names or any(f.startswith("adapted:") for f in names):
        counts = np.bincount(data.gold[rows], minlength=data.features["label"].shape[1])
        adapter = None
        if any(f.startswith("adapted:") for f in names):
            adapter = fit_adapter(data, matcher, rows)
            order = np.random.default_rng(SEED).permutation(len(rows))
            a, b = order[: len(rows) // 2], order[len(rows) // 2 :]
            halves = [
                (b, fit_adapter(data, matcher, rows[a])),
                (a, fit_adapter(data, matcher, rows[b])),
            ]
        extras = Extras(counts, adapter, matcher, loo=True)
    cols = candidates(data, rows)
    w = fit_listwise(block(data, rows, names, extras, cols, halves))
    sample = rows[np.random.default_rng(SEED).permutation(len(rows))[:3000]]
    scale, bias = calibrate(scores(data, sample, names, w, extras), data.gold[sample])
    if extras is not None:
        extras.loo = False
    fusion = FusionModel(
        features=names, weights=tuple(round(float(x * scale), 5) for x in w), bias=round(bias, 5)
    )
    return Fitted(fusion, extras)


def cross_validate(data: TitleData, matcher: OccupationMatcher, names: tuple[str, ...]) -> dict:
    """Out-of-fold ranks and the out-of-fold heads the confidence model is fitted on."""
    fold = folds(data.titles)
    n = len(data.titles)
    ranks = np.empty(n, dtype=np.int64)
    top, second = np.empty(n), np.empty(n)
    first = np.empty(n, dtype=np.int64)
    weights = []
    for f in range(FOLDS):
        train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        fitted = fit(data, matcher, train, names)
        weights.append(fitted.fusion.weights)
        z = scores(data, test, names, np.asarray(fitted.fusion.weights), fitted.extras)
        z += fitted.fusion.bias
        ranks[test] = ranks_of_gold(z, data.gold[test])
        head = np.argsort(-z, axis=1)[:, :2]
        p = 1 / (1 + np.exp(-np.take_along_axis(z, head, axis=1)))
        top[test], second[test], first[test] = p[:, 0], p[:, 1], head[:, 0]
        print(f"  fold {f}: MRR {mrr(ranks[test]):.4f}", flush=True)
    return {"ranks": ranks, "top": top, "second": second, "first": first, "weights": weights}


def summary(ranks: np.ndarray) -> dict[str, float]:
    return {
        "MRR": round(mrr(ranks), 4),
        "R@1": round(float(np.mean(ranks <= 1)), 4),
        "R@5": round(float(np.mean(ranks <= 5)), 4),
        "R@10": round(float(np.mean(ranks <= 10)), 4),
    }


def fit_confidence(data: TitleData, oof: dict, owners: np.ndarray) -> tuple[FusionModel, dict]:
    from sklearn.linear_model import LogisticRegression

    feats = confidence_features(oof["top"], oof["second"], owners)
    names = tuple(feats)
    x = np.stack([feats[n] for n in names], axis=1)
    y = oof["first"] == data.gold
    model = LogisticRegression(C=10.0).fit(x, y)
    p = model.predict_proba(x)[:, 1]
    confident = p >= 0.5
    report = {
        "top1_accuracy": round(float(y.mean()), 4),
        "share_confident": round(float(confident.mean()), 4),
        "accuracy_when_confident": round(float(y[confident].mean()), 4)
        if confident.any()
        else None,
        "accuracy_when_ambiguous": round(float(y[~confident].mean()), 4)
        if (~confident).any()
        else None,
        "note": "in-sample over out-of-fold rankings (4 weights)",
    }
    fusion = FusionModel(
        features=names,
        weights=tuple(round(float(w), 5) for w in model.coef_[0]),
        bias=round(float(model.intercept_[0]), 5),
    )
    return fusion, report


MELO_FILES = ("deu_q_de_c_en", "esp_q_es_c_en", "fra_q_fr_c_en", "nld_q_nl_c_en", "pol_q_pl_c_en")
MELO_FILES += ("usa_q_en_c_en",)


ROUTING_THRESHOLDS = (0.05, 0.1, 0.2, 0.5)
"""p(English) cut-offs compared on the dev files (py3langid's p(English) of a short English
title is often low: 0.5 routes only a quarter of JobBERT titles to the English weights)."""


def melo_report(sp: Skillpath, matcher: OccupationMatcher, model: TitleModel) -> dict:
    """MRR per MELO dev language of each candidate recipe (choosing only: nothing is fitted).

    ``english`` / ``other``: one weight set for every title; ``routed``: by the detector's
    p(English) at ``model.english_at`` (what ships). Features come from the matcher itself,
    so this scores exactly what the engine serves."""
    from skillpath.models.language import detect

    served = replace(matcher, model=model)
    position = {o.uri: i for i, o in enumerate(sp.taxonomy.occupations)}
    out: dict = {}
    for name in MELO_FILES:
        path = default_shared_dir() / f"bench/job-titles/melo/{name}.csv"
        bench = load_title_benchmark(path, list(position))
        titles = [clean_query(q.title, "job title", 500) for q in bench.queries]
        gold = np.asarray([position[q.occupation_uri] for q in bench.queries])
        vectors = sp.matching.encode_queries(titles, cache=True)
        partner_vectors = sp.matching.encode_title_queries(titles, cache=True)
        ranks: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(titles), 500):
            stop = start + 500
            feats = served.features(
                titles[start:stop], vectors[start:stop], partner_vectors[start:stop]
            )
            for label, fusion in (("english", model.english), ("other", model.other)):
                r = ranks_of_gold(fusion.logit(feats), gold[start:stop])
                ranks.setdefault(label, []).append(r)
            ranks.setdefault("zero-shot", []).append(
                ranks_of_gold(feats["label"], gold[start:stop])
            )
            ranks.setdefault("zero-shot-e5", []).append(
                ranks_of_gold(feats["e5:label"], gold[start:stop])
            )
        r = {k: np.concatenate(v) for k, v in ranks.items()}
        p_en = np.asarray([detect(t).p_english for t in titles])
        out[name] = {"titles": len(titles), **{k: round(mrr(v), 4) for k, v in r.items()}}
        for at in ROUTING_THRESHOLDS:
            routed = np.where(p_en >= at, r["english"], r["other"])
            out[name][f"routed at {at}"] = round(mrr(routed), 4)
            out[name][f"share English at {at}"] = round(float(np.mean(p_en >= at)), 3)
        print(name, json.dumps(out[name]), flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=None, help="JobBERT validation CSV")
    parser.add_argument("--no-save", action="store_true", help="Only print the CV scores")
    parser.add_argument(
        "--sets", nargs="*", default=list(EXTRA_SETS), help="Feature sets to cross-validate"
    )
    parser.add_argument(
        "--english-at",
        type=float,
        default=0.5,
        help="p(English) from which the English weights read a title (chosen on MELO dev)",
    )
    parser.add_argument(
        "--kinds", nargs="*", default=["english", "other"], help="Weight sets to cross-validate"
    )
    parser.add_argument(
        "--other-set",
        default="base",
        choices=["base", "+prior"],
        help="Feature set of the non-English weights (chosen on MELO dev with --melo)",
    )
    parser.add_argument(
        "--melo", action="store_true", help="Only compare the saved model's recipes on MELO dev"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sp = Skillpath()
    matcher = sp.matching.occupation_matcher
    if matcher.partner is None:
        raise SystemExit(f"no {TITLE_PARTNER} occupation index: run `skillpath index build`")
    if args.melo:
        if matcher.model is None:
            raise SystemExit("no saved title model: run without --melo first")
        print(json.dumps(melo_report(sp, matcher, matcher.model), indent=2))
        return
    path = args.file or default_shared_dir() / "bench/job-titles/jobbert-validation.csv"
    data = title_data(sp, matcher, path)
    print(f"features of {len(data.titles)} titles in {time.perf_counter() - started:.0f} s")
    report: dict = {"titles": len(data.titles), "file": str(path)}
    for name, f in (("zero-shot (MiniLM best label)", "label"), ("zero-shot e5", "e5:label")):
        report[name] = summary(ranks_of_gold(data.features[f].astype(np.float32), data.gold))
    hand = scores(
        data,
        np.arange(len(data.titles)),
        ("label", "preferred", "lexical"),
        np.asarray([1.0, 0.5, 0.2]),
        None,
    )
    report["hand fusion (before)"] = summary(ranks_of_gold(hand, data.gold))
    del hand
    print(json.dumps(report, indent=2), flush=True)
    cv: dict[str, dict] = {}
    for key in args.sets:
        for kind, base in (("english", TITLE_FEATURES), ("other", OTHER_FEATURES)):
            if kind not in args.kinds:
                continue
            if kind == "other" and "adapter" in key:
                continue  # the adapter maps MiniLM (English-only) vectors
            names = base + EXTRA_SETS[key]
            print(f"{kind} {key}: {names}", flush=True)
            cv[f"{kind} {key}"] = cross_validate(data, matcher, names)
            report[f"CV {kind} {key}"] = summary(cv[f"{kind} {key}"]["ranks"])
            print(json.dumps(report[f"CV {kind} {key}"]), flush=True)
    best = max(args.sets, key=lambda k: report.get(f"CV english {k}", {"MRR": 0})["MRR"])
    report["chosen English set"] = best
    owners = np.asarray([len(matcher.exact_owners(t)) for t in data.titles])
    confidence, conf_report = fit_confidence(data, cv[f"english {best}"], owners)
    report["confidence"] = conf_report
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2), flush=True)
    if args.no_save:
        return
    rows = np.arange(len(data.titles))
    english = fit(data, matcher, rows, TITLE_FEATURES + EXTRA_SETS[best])
    other = fit(data, matcher, rows, OTHER_FEATURES + EXTRA_SETS[args.other_set])
    extras = english.extras or other.extras
    prior = None
    if extras is not None:
        row = extras.prior_row()
        prior = {
            o.uri: round(float(v), 5) for o, v in zip(sp.taxonomy.occupations, row, strict=True)
        }
    model = TitleModel(
        english=english.fusion,
        other=other.fusion,
        confidence=confidence,
        english_at=args.english_at,
        confident_at=0.5,
        prior=prior,
        adapter=english.extras.adapter if english.extras else None,
        info={"trained_on": "JobBERT validation", **report},
    )
    out = title_model_path(f"{sp.encoder.name}+{TITLE_PARTNER}")
    model.save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
