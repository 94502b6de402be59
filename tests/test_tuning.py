"""The one tuning object decides what a request leaves unset (optional skills' weight)."""

from __future__ import annotations

import pytest

from skillpath.engine.config import Tuning
from skillpath.engine.gap import OPTIONAL_WEIGHT
from skillpath.engine.recommendation import RecommendationRequest


def test_the_tuning_defaults_are_the_gap_functions_defaults():
    import inspect

    from skillpath.engine.gap import compute_gap

    params = inspect.signature(compute_gap).parameters
    tuning = Tuning()
    for name in ("optional_weight", "partial_threshold", "confidence_floor", "similar_credit"):
        assert params[name].default == getattr(tuning, name)
    assert RecommendationRequest(target="x").optional_weight is None  # not a third default


@pytest.mark.slow
def test_a_request_without_optional_weight_uses_the_deployments_tuning(engine):
    from skillpath.engine.service import Skillpath

    request = RecommendationRequest(target="data analyst", k=3)
    default = engine.compute_gap(request.target, request.profile, request.optional_weight)
    optional = {s.uri for s in default.gap.skills if s.relation == "optional"}
    assert optional, "data analyst has optional skills"
    assert {s.weight for s in default.gap.skills if s.relation == "optional"} == {OPTIONAL_WEIGHT}

    no_optional = Skillpath(
        engine.settings.model_copy(update={"tuning": Tuning(optional_weight=0.0)})
    )
    tuned = no_optional.recommend(request, log=False)
    assert not [s for s in tuned.gap.skills if s.relation == "optional"]
    # an explicit weight in the request still wins over the tuning
    asked = no_optional.compute_gap(request.target, request.profile, 0.5)
    assert {s.weight for s in asked.gap.skills if s.relation == "optional"} == {0.5}
