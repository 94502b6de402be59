"""The per-encoder memo of single query texts: same vectors, fewer forward passes."""

from __future__ import annotations

import numpy as np
import pytest

from skillpath.models.encoder import Encoder, load_encoder

pytestmark = pytest.mark.model  # loads the torch MiniLM weights


class Counting(Encoder):
    """The real MiniLM, counting the texts that reach a forward pass."""

    name = "counting"

    def __init__(self, inner: Encoder, memo_size: int = 4096) -> None:
        self.inner, self.dimension, self.memo_size = inner, inner.dimension, memo_size
        self.encoded: list[str] = []

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        self.encoded += texts
        return self.inner._encode(texts, kind)


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    return load_encoder("minilm")


def test_a_repeated_title_is_encoded_once_and_bitwise_as_without_the_memo(minilm):
    memo, plain = Counting(minilm), Counting(minilm, memo_size=0)
    first = memo.encode_queries(["data analyst"])
    again = memo.encode_queries(["data analyst"])
    assert memo.encoded == ["data analyst"]
    unmemoised = plain.encode_queries(["data analyst"])
    np.testing.assert_array_equal(first, unmemoised)
    np.testing.assert_array_equal(again, unmemoised)
    plain.encode_queries(["data analyst"])
    assert plain.encoded == ["data analyst", "data analyst"]  # memo off: every call encodes


def test_batches_and_documents_are_not_memoised(minilm):
    enc = Counting(minilm)
    enc.encode_queries(["nurse"])
    enc.encode_queries(["nurse", "welder"])
    enc.encode_documents(["nurse"])
    assert enc.encoded == ["nurse", "nurse", "welder", "nurse"]


def test_the_memo_is_bounded_least_recently_used_first(minilm):
    enc = Counting(minilm, memo_size=2)
    for title in ["cook", "baker", "cook", "welder", "cook", "baker"]:
        enc.encode_queries([title])
    # "baker" was the least recently used when "welder" came in, so it is encoded again
    assert enc.encoded == ["cook", "baker", "welder", "baker"]


def test_a_caller_changing_its_vector_does_not_change_the_memo(minilm):
    enc = Counting(minilm)
    first = enc.encode_queries(["plumber"])
    expected = first.copy()
    first[:] = 0.0
    np.testing.assert_array_equal(enc.encode_queries(["plumber"]), expected)
