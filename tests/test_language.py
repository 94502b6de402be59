"""The offline language detector that routes job titles (py3langid, model in the wheel)."""

from __future__ import annotations

import pytest

from skillpath.models.language import EU_LANGUAGES, detect


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Pielęgniarka", "pl"),
        ("verpleegkundige", "nl"),
        ("Krankenpfleger auf der Intensivstation", "de"),
        ("responsable des ressources humaines", "fr"),
        ("conductor de camión", "es"),
        ("experienced warehouse worker with forklift licence", "en"),
    ],
)
def test_detects_the_language_of_short_titles(text, code):
    language = detect(text)
    assert language.code == code
    assert 0.0 < language.confidence <= 1.0
    assert (language.p_english >= 0.5) == (code == "en")


def test_only_eu_languages_are_answered():
    for text in ("Krankenschwester", "ingeniero de software", "kierowca autobusu", "x y z"):
        assert detect(text).code in EU_LANGUAGES


@pytest.mark.parametrize("text", ["", "   ", "1234 !!", "—"])
def test_text_without_letters_is_taken_as_english(text):
    language = detect(text)
    assert language.code == "en" and language.p_english == 1.0 and language.confidence == 0.0
