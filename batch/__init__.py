"""Batch recommendations for every registered learner, in-process or on a Ray cluster."""
