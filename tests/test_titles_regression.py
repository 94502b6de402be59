"""Job titles people type resolve to the right ESCO occupation (the regression set).

``fixtures/titles_regression.json`` holds 87 common titles across sectors, each with the
ESCO v1.1.1 occupation(s) that are right for it, checked by hand against
``occupations_en.csv`` (label, alternative labels, description). They were chosen
independently of the JobBERT and MELO development files. Every title goes through the
facade's ``resolve_target``, as the CLI's ``--target`` and the API's ``target`` do.

Also here: an ambiguous title returns alternatives through the real HTTP API, and a German
target title and CV line give a sensible gap and recommendations with the default install.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "fixtures" / "titles_regression.json"
CASES = json.loads(FIXTURE.read_text(encoding="utf-8"))["titles"]


def test_the_set_is_large_and_well_formed(engine):
    assert len(CASES) >= 60
    titles = [c["title"].casefold() for c in CASES]
    assert len(set(titles)) == len(titles)
    known = {o.uri: o for o in engine.taxonomy.occupations}
    for case in CASES:
        for accepted in case["accept"]:
            occupation = known[accepted["uri"]]  # a real ESCO v1.1.1 occupation
            assert occupation.preferred_label == accepted["label"]
            assert occupation.isco_group == accepted["isco"]


KNOWN_WRONG = {
    "senior java developer": "read as non-English (p(English) < 0.5): e5 alone picks a manager",
    "family doctor": "'specialised doctor' ranks above 'general practitioner'",
    "veterinarian": "'specialised veterinarian' ranks above 'general veterinarian'",
    "cyber incident responder": "still 'emergency response worker' (ESCO has no such role)",
    "IT support technician": "lost to soft language routing (which wins 0.009 MRR on JobBERT "
    "validation): 'computer hardware repair technician' first, 'ICT technician' the first "
    "alternative",
}
"""Titles the shipped matcher still gets wrong (82 / 87 right, docs/benchmarks.md): each must
at least be flagged ambiguous, so the learner is shown alternatives instead of a silent guess.
Any other wrong title fails the test, and a fixed one must leave this list."""


def test_every_title_resolves_to_its_occupation(engine):
    assert engine.matching.occupation_matcher.learned, (
        "the e5 title index and learned model are used"
    )
    wrong, fixed = [], []
    for case in CASES:
        resolution = engine.resolve_target(case["title"])
        right = resolution.occupation_uri in {a["uri"] for a in case["accept"]}
        if case["title"] in KNOWN_WRONG:
            if right:
                fixed.append(case["title"])
            else:
                assert resolution.ambiguous and resolution.alternatives, case["title"]
        elif not right:
            wrong.append((case["title"], resolution.occupation_label))
    assert not wrong, wrong
    assert not fixed, f"now right, remove from KNOWN_WRONG: {fixed}"
    assert len(CASES) - len(KNOWN_WRONG) >= 80


@pytest.mark.parametrize(
    ("title", "not_this"),
    [
        ("machine learning engineer", "maintenance and repair engineer"),
        ("registered nurse", "nurse assistant"),
    ],
)
def test_the_known_failures_are_fixed(engine, title, not_this):
    hits = engine.matching.normalize_occupation(title, k=1)
    assert hits[0].label != not_this


@pytest.mark.parametrize("title", ["paralegal", "nutritionist"])
def test_a_title_several_occupations_carry_is_ambiguous(engine, title):
    """ "paralegal" is a label of two occupations; "nutritionist" of one, but part of others'
    labels ("animal feed nutritionist"): neither may resolve silently."""
    resolution = engine.resolve_target(title)
    assert resolution.ambiguous and not resolution.confident
    assert resolution.alternatives
    assert resolution.note and title in resolution.note
    owners = {o.uri for o in engine.store.occupations_by_label(title)}
    assert resolution.occupation_uri in owners
    listed = {a.uri for a in resolution.alternatives}
    assert owners - {resolution.occupation_uri} <= listed  # every other owner is offered


def test_an_unambiguous_title_is_confident(engine):
    resolution = engine.resolve_target("software developer")
    assert resolution.confident and not resolution.ambiguous
    assert resolution.occupation_label == "software developer"


def test_ambiguous_title_returns_alternatives_through_the_http_api(engine):
    import socket

    import uvicorn

    from skillpath.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(service=engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            r = http.post("/v1/gap", json={"target": "paralegal", "profile": {"skills": []}})
            assert r.status_code == 200, r.text
            target = r.json()["target"]
            assert target["ambiguous"] is True and target["confident"] is False
            labels = {a["label"] for a in target["alternatives"]}
            chosen = target["occupation_label"]
            assert {chosen} | labels >= {"legal assistant", "court jury coordinator"}
            assert any("paralegal" in n for n in r.json()["notes"])
            clear = http.post(
                "/v1/gap", json={"target": "software developer", "profile": {"skills": []}}
            ).json()["target"]
            assert clear["ambiguous"] is False and clear["confident"] is True
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.mark.parametrize(
    ("title", "groups"),
    [
        ("Softwareentwickler", {"2512", "2514", "2511", "2519"}),
        ("Elektriker", {"7411", "7412", "7413"}),
        ("Kok", {"5120", "3434"}),  # Dutch: cook
        ("Comptable", {"2411", "3313"}),  # French: accountant
    ],
)
def test_non_english_titles_resolve_to_the_right_field(engine, title, groups):
    resolution = engine.resolve_target(title)
    assert resolution.language != "en"
    occupation = engine.store.occupation(resolution.occupation_uri)
    assert occupation.isco_group in groups, (title, occupation.preferred_label)


@pytest.mark.parametrize("title", ["Krankenpfleger", "Pielęgniarka"])
def test_nursing_titles_outside_english_are_flagged_not_trusted(engine, title):
    """A known weakness (docs/benchmarks.md): e5 reads these as care/social work, not
    nursing. The resolution must at least say it is unsure and offer alternatives."""
    resolution = engine.resolve_target(title)
    assert resolution.language != "en"
    assert resolution.ambiguous and not resolution.confident and resolution.alternatives


def test_german_target_and_cv_line_end_to_end(engine, shared_dir, tmp_path):
    from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest

    name = "coursera-courses.csv"
    text = (shared_dir / "catalogue" / name).read_text(encoding="utf-8")
    (tmp_path / name).write_text("".join(text.splitlines(keepends=True)[:500]))
    engine.catalogue.import_file(tmp_path / name, "csv", "coursera")
    profile = LearnerProfile(text="Ich entwickle Webanwendungen mit Python und SQL-Datenbanken.")
    gap = engine.compute_gap("Softwareentwickler", profile)
    assert gap.target.language != "en"  # py3langid reads this compound as Dutch or German
    assert engine.store.occupation(gap.target.occupation_uri).isco_group.startswith("251")
    assert gap.held, "the German CV line is read as skills"
    assert gap.gap.skills, "the target leaves something to learn"
    response = engine.recommend(
        RecommendationRequest(target="Softwareentwickler", profile=profile, k=5)
    )
    assert response.target.occupation_uri == gap.target.occupation_uri
    assert response.explanations, "courses are recommended for the gap"


def test_a_title_the_detector_is_unsure_of_mixes_both_models_by_p_english(engine, monkeypatch):
    """Soft routing: with p(English) = 0.3 the scores are 0.3 * english + 0.7 * other, not the
    other model's alone (what a switch at 0.5 gave: English titles with few English cues lost
    the English model entirely)."""
    import numpy as np

    import skillpath.models.language as language

    matcher = engine.matching.occupation_matcher
    model = matcher.model
    if model is None or matcher.partner is None:
        pytest.skip("needs the learned title model and the e5 partner index")
    assert model.routing == "soft"
    title = "marketing executive"
    monkeypatch.setattr(language, "detect", lambda text: language.Language("en", 0.3, 0.3))
    scores = matcher.score_titles([title], "final")[0]
    v = matcher.encoder.encode_queries([title])
    feats = matcher.features([title], v, matcher.encode_partner([title]))
    english = model.english.probability(model.english.logit(feats))[0]
    other = model.other.probability(model.other.logit(feats))[0]
    np.testing.assert_allclose(scores, 0.3 * english + 0.7 * other, rtol=1e-5, atol=1e-6)
    assert not np.allclose(scores, other)  # the English model keeps its say
