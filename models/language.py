"""Which language a short query (a job title, a CV line) is written in.

The matcher routes non-English text to the multilingual encoder's features, so it needs a
detector that works offline and on a few words. ``py3langid`` (a maintained fork of
langid.py) ships its naive-Bayes model inside the wheel (~1 MB), loads in well under a
second and classifies a title in ~0.1 ms. It is restricted to the languages of the EU/EEA so
that a two-word title is not read as, say, Afrikaans.

Measured on the development title files (``docs/benchmarks.md``, Matching → job titles): top
language right for 83–94 % of MELO titles (de, fr, es, nl, pl) but only 69 % of English
JobBERT titles ("Marketing Executive" has few English-only cues). The matcher therefore does
not route on the top language alone: it uses ``p_english``, and both encoders' features are
present for every query; the language only chooses which weights read them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

# The 24 official EU languages that py3langid knows (it has no Irish or Maltese) plus the
# EEA's Norwegian and Icelandic.
EU_LANGUAGES: tuple[str, ...] = (
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "hr", "hu", "it", "lt",
    "lv", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "sv", "no", "is", "ga",
)  # fmt: skip

_lock = threading.Lock()


@dataclass(frozen=True)
class Language:
    """The detected language of one text: ISO 639-1 code and the probability of English."""

    code: str
    confidence: float
    p_english: float

    @property
    def english(self) -> bool:
        return self.code == "en"


@lru_cache(maxsize=1)
def _identifier():  # noqa: ANN202 - py3langid has no type hints
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages([code for code in EU_LANGUAGES if code in ident.nb_classes])
    return ident


def detect(text: str) -> Language:
    """The most likely EU language of ``text`` and the probability that it is English.

    Empty text (or text with no letters) is taken as English with confidence 0: nothing
    argues for another language.
    """
    if not any(ch.isalpha() for ch in text):
        return Language("en", 0.0, 1.0)
    ident = _identifier()
    with _lock:  # the identifier keeps per-call state; calls are ~0.1 ms
        ranked = ident.rank(text)
    total = sum(p for _, p in ranked) or 1.0
    probs = {code: p / total for code, p in ranked}
    code, best = max(probs.items(), key=lambda kv: kv[1])
    return Language(code, float(best), float(probs.get("en", 0.0)))


def detect_batch(texts: list[str]) -> list[Language]:
    return [detect(t) for t in texts]
