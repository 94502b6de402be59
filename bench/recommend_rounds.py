"""Latency of repeated targets: bench/load.py's six requests through ``Skillpath.recommend``,
in process, for a few rounds (round 1 pays each new target's encoding and searches; later
rounds find its pool kept, as a server does for the jobs many people ask about).

    SKILLPATH_HOME=var .venv/bin/python bench/recommend_rounds.py [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time

from load import REQUESTS  # the same rotation as the HTTP load test

from skillpath.engine.recommendation import RecommendationRequest
from skillpath.engine.service import Skillpath


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more round")
    args = parser.parse_args()
    sp = Skillpath()
    requests = [RecommendationRequest.model_validate(r) for r in REQUESTS]
    sp.catalogue.snapshot()  # load the catalogue and indexes outside the timed rounds
    sp.recommend(RecommendationRequest(target="bookkeeper"), log=False)
    for n in range(1, args.rounds + 1):
        times = []
        for request in requests:
            start = time.perf_counter()
            sp.recommend(request, log=False)
            times.append((time.perf_counter() - start) * 1000)
        cells = " ".join(f"{t:,.0f}" for t in times)
        print(f"round {n}: {cells}  median {statistics.median(times):,.0f} ms")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for request in requests:
            sp.recommend(request, log=False)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
