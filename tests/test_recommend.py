"""Gap and recommendations end to end: real ESCO, real matcher, a real catalogue slice."""

from __future__ import annotations

import pytest

from skillpath.engine.ranking import Constraints
from skillpath.engine.recommendation import LearnerProfile, RecommendationRequest
from skillpath.esco.store import NotFound

SQL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"


@pytest.fixture(scope="module")
def catalogue(engine, shared_dir, tmp_path_factory):
    """About 600 real credentials from three catalogues (every format of CSV we ship)."""
    folder = tmp_path_factory.mktemp("catalogue-slice")
    for name, mapping, lines in (
        ("coursera-courses.csv", "coursera", 500),
        ("edx-courses.csv", "edx", 150),
        ("eu-university-modules.csv", "eu-modules", 200),
    ):
        text = (shared_dir / "catalogue" / name).read_text(encoding="utf-8")
        (folder / name).write_text("".join(text.splitlines(keepends=True)[:lines]))
        engine.catalogue.import_file(folder / name, "csv", mapping)
    return engine


def _request(**kwargs) -> RecommendationRequest:
    return RecommendationRequest(target=kwargs.pop("target", "data analyst"), **kwargs)


def test_empty_profile_gap_is_the_whole_occupation(catalogue):
    response = catalogue.compute_gap("data analyst")
    detail = catalogue.taxonomy.occupation_detail("data analyst")
    assert response.target.matched_by == "label"
    assert response.gap.essential_count == len(detail.essential)
    assert response.gap.optional_count == len(detail.optional)


def test_held_skill_leaves_the_gap_and_gap_never_grows(catalogue):
    empty = catalogue.compute_gap("data analyst").gap
    first = empty.skills[0]
    with_skill = catalogue.compute_gap("data analyst", LearnerProfile(skills=[first.uri])).gap
    assert first.uri not in {s.uri for s in with_skill.skills}
    assert with_skill.remaining_weight <= empty.remaining_weight
    assert {s.uri for s in with_skill.skills} <= {s.uri for s in empty.skills}


def test_recommendations_cover_gap_skills_with_evidence(catalogue):
    # The coverage ranking ranks only credentials linked to a gap skill (the relevance
    # ranking, the default, may rank a relevant course linked to none: tests/test_relevance.py).
    response = catalogue.recommend(
        _request(
            profile=LearnerProfile(text="I manage stock in a warehouse and use Excel."),
            ranking="coverage",
        )
    )
    gap_uris = {s.uri for s in response.gap.skills}
    assert response.ranking.items, response.ranking.reason_if_empty
    for item, why in zip(response.ranking.items, response.explanations, strict=True):
        assert {c.uri for c in item.covered} & gap_uris
        assert why.id == item.id and why.sentence
        assert all(e.evidence for e in why.essential + why.optional)
        for covered in item.covered:  # a skill taught via a neighbour is named, not a URI
            assert (
                not covered.via_skill
                or covered.via_label == catalogue.taxonomy.skill(covered.via_skill).preferred_label
            )
    assert (
        response.pathway.coverage
        >= max(i.parts.standalone_coverage for i in response.ranking.items) - 1e-9
    )


def test_recommend_is_deterministic(catalogue):
    request = _request(profile=LearnerProfile(skills=[SQL]), k=5)
    first = catalogue.recommend(request).model_dump(exclude={"provenance"})  # id and time differ
    assert catalogue.recommend(request).model_dump(exclude={"provenance"}) == first


def test_constraints_are_respected(catalogue):
    response = catalogue.recommend(
        _request(constraints=Constraints(languages=["en"], budget_hours=40, modes=["online"]))
    )
    for item in response.ranking.items:
        c = catalogue.catalogue.get(item.id).record
        assert c.mode in ("online", None)
        assert not c.languages or "en" in c.languages
    assert (response.pathway.total_hours or 0) <= 40 + 1e-9


def test_contradictory_constraints_give_an_empty_answer_with_reason(catalogue):
    response = catalogue.recommend(_request(constraints=Constraints(budget_ects=0)))
    assert response.ranking.items == [] and response.ranking.reason_if_empty
    assert response.pathway.steps == [] and response.pathway.reason_if_empty


def test_unknown_uris_are_named(catalogue):
    bad = "http://data.europa.eu/esco/skill/does-not-exist"
    with pytest.raises(NotFound, match="does-not-exist"):
        catalogue.recommend(_request(profile=LearnerProfile(skills=[bad])))
    with pytest.raises(NotFound, match="unknown ESCO occupation URI"):
        catalogue.compute_gap("http://data.europa.eu/esco/occupation/nope")


def test_title_that_matches_nothing_says_so(catalogue):
    response = catalogue.compute_gap("qwzx blorptastic frobnicator")
    assert not response.target.confident
    assert response.target.alternatives and response.notes


def test_past_occupation_counts_with_lower_confidence(catalogue):
    held, _ = catalogue.recommender.learner_skills(LearnerProfile(occupations=["data scientist"]))
    assert held and all(h.confidence < 1 for h in held)
    gap = catalogue.compute_gap("data analyst", LearnerProfile(occupations=["data scientist"]))
    assert gap.gap.remaining_weight < catalogue.compute_gap("data analyst").gap.remaining_weight


def test_cli_ranking_option_selects_the_ranking_and_rejects_an_unknown_one(catalogue, monkeypatch):
    import json

    from typer.testing import CliRunner

    from skillpath.engine.cli import app

    monkeypatch.setattr("skillpath.engine.cli.service", lambda: catalogue)
    runner = CliRunner()
    base = ["recommend", "--target", "data analyst", "--text", "I use Excel", "-k", "5", "--json"]
    by_method = {}
    for method in ("relevance", "coverage"):
        done = runner.invoke(app, [*base, "--ranking", method])
        assert done.exit_code == 0, done.output
        by_method[method] = json.loads(done.stdout)["ranking"]["items"]
    assert by_method["relevance"] and by_method["coverage"]
    assert all(item["relevance"] is not None for item in by_method["relevance"])
    assert all(item["relevance"] is None for item in by_method["coverage"])
    bad = runner.invoke(app, [*base, "--ranking", "popularity"])
    assert bad.exit_code != 0 and "ranking" in bad.output


def _ranked(response) -> list[tuple[str, float]]:
    return [(item.id, item.score) for item in response.ranking.items]


def test_a_kept_target_pool_answers_as_a_fresh_one(catalogue):
    """Learners aiming at one job share its pool; nothing of one learner leaks into another's."""
    first = _request(profile=LearnerProfile(skills=[SQL]), k=10)
    second = _request(
        profile=LearnerProfile(
            occupations=["warehouse worker"], text="I keep stock records in spreadsheets."
        ),
        k=10,
    )
    catalogue.recommender.forget_pools()
    fresh = [_ranked(catalogue.recommend(r, log=False)) for r in (second, first)]
    catalogue.recommender.forget_pools()
    kept = [_ranked(catalogue.recommend(r, log=False)) for r in (first, second)]
    assert kept[0] == fresh[1] and kept[1] == fresh[0]
    assert kept[0] != kept[1]  # the learners differ, so the lists may share a pool, not an answer
    assert catalogue.recommender._pool_for.cache_info().hits >= 1


def test_a_catalogue_write_moves_the_kept_pool_on(catalogue):
    """A credential imported after a pool was kept is a candidate on the next request, and one
    removed is not: the pool is kept per catalogue revision."""
    from skillpath.engine.catalogue.records import MicroCredential

    request = _request(k=10)
    before = catalogue.recommender.relevance_inputs(request).candidates
    course = MicroCredential(
        source="pooltest",
        external_id="data-analyst-starter",
        title="Data Analyst Starter: spreadsheets, SQL and dashboards",
        description="Become a data analyst: clean data in spreadsheets, query it with SQL, "
        "and report findings in dashboards.",
        learning_outcomes=["query databases with SQL", "build dashboards of business data"],
        url="https://example.org/data-analyst-starter",
    )
    catalogue.catalogue.import_stream([course], "pooltest")
    try:
        added = catalogue.recommender.relevance_inputs(request).candidates
        assert "pooltest:data-analyst-starter" not in before
        assert "pooltest:data-analyst-starter" in added
    finally:
        catalogue.catalogue.remove("pooltest:data-analyst-starter")
    after = catalogue.recommender.relevance_inputs(request).candidates
    assert "pooltest:data-analyst-starter" not in after
