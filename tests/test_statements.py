"""The statement splitter: every mess case the catalogues, CVs and job ads show."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skillpath.engine.statements import Statement, normalize_text, split_statements


def texts(text: str) -> list[str]:
    pieces = split_statements(text)
    for p in pieces:  # the span invariant holds for every piece of every test
        assert text[p.start : p.end] == p.text
        assert p.text == p.text.strip()
    return [p.text for p in pieces]


@pytest.mark.parametrize("empty", ["", "   ", "\n\n", "...", " - ", "•", "\\n\\n", ";;", "1."])
def test_empty_and_punctuation_only_give_nothing(empty: str) -> None:
    assert split_statements(empty) == []


def test_statement_is_frozen_with_offsets() -> None:
    text = "  Learn SQL.  Build APIs.  "
    first, second = split_statements(text)
    assert first == Statement("Learn SQL.", 2, 12)
    assert second == Statement("Build APIs.", 14, 25)
    with pytest.raises(AttributeError):
        first.text = "x"  # type: ignore[misc]


def test_newlines_real_and_literal() -> None:
    raw = "Students can X.\\nStudents can Y\\r\\nStudents can Z\nand W\r\nV"
    assert texts(raw) == ["Students can X.", "Students can Y", "Students can Z", "and W", "V"]


def test_literal_newline_offsets_point_into_original() -> None:
    raw = "alpha\\nbeta"
    a, b = split_statements(raw)
    assert (a.start, a.end, b.start, b.end) == (0, 5, 7, 11)


def test_bullets_glyphs_and_dashes() -> None:
    raw = "• Python ▪ SQL\n- Docker\n* Kubernetes\n· Git\n– Linux"
    assert texts(raw) == ["Python", "SQL", "Docker", "Kubernetes", "Git", "Linux"]


def test_numbered_and_lettered_items() -> None:
    raw = "1. Plan the sprint\n2) Write tests\na) Review code\n(b) Deploy\niv) Monitor"
    assert texts(raw) == ["Plan the sprint", "Write tests", "Review code", "Deploy", "Monitor"]


def test_numbered_items_inline_after_sentence_end() -> None:
    raw = "1. Configure IAM policies. 2) Encrypt data.\n3. Monitor resources."
    assert texts(raw) == ["Configure IAM policies.", "Encrypt data.", "Monitor resources."]


def test_word_symbol_bullets_and_semicolon_lookalikes() -> None:
    # U+F0B7 is the private-use glyph a Word "Symbol" bullet becomes; U+037E looks like ';'
    raw = "understand: \\n\uf0b7\\nconcurrency\uf0a7 locks\u037e threads\uff1bqueues"
    assert texts(raw) == ["understand:", "concurrency", "locks", "threads", "queues"]


def test_semicolons() -> None:
    assert texts("design schemas; write queries;tune indexes") == [
        "design schemas",
        "write queries",
        "tune indexes",
    ]


def test_sentence_ends() -> None:
    raw = "You will learn SQL. You will build apps! Why? 3 projects included."
    assert texts(raw) == [
        "You will learn SQL.",
        "You will build apps!",
        "Why?",
        "3 projects included.",
    ]


def test_initials_are_not_sentence_ends() -> None:
    # Known trade-off: "Plan B. Next" is not split either.
    assert texts("J. R. R. Tolkien wrote it") == ["J. R. R. Tolkien wrote it"]


def test_no_split_before_lowercase() -> None:
    assert texts("Use approx. five tools. done") == ["Use approx. five tools. done"]


def test_run_together_sentences() -> None:
    raw = (
        "Apply advanced techniques.Proficiency in C# and .NET development."
        "Build REST services (e.g. Flask).Deploy"
    )
    assert texts(raw) == [
        "Apply advanced techniques.",
        "Proficiency in C# and .NET development.",
        "Build REST services (e.g. Flask).",
        "Deploy",
    ]


def test_glued_bullets_without_any_separator() -> None:
    raw = "Develop a proposal and select your dataPerform descriptive statisticsPresent findings"
    assert texts(raw) == [
        "Develop a proposal and select your data",
        "Perform descriptive statistics",
        "Present findings",
    ]


@pytest.mark.parametrize(
    "keep",
    [
        "Use tools e.g. Excel and i.e. Word daily",
        "Worked in the U.S. Army for years",
        "Build apps with Node.js and ASP.NET Core",
        "Python 3.5 and version 2.0.1 are supported",
        "He holds a Ph.D. in physics",
        "Read https://example.com/Docs/Intro.Html for details",
        "Write to jane.doe@Example.org today",
        "Use JavaScript, YouTube, iPhone, eCommerce, getElementById and PowerPoint",
        "Dr. Smith and Prof. Jones teach it",
        "Einführung z.B. in Java und d.h. Objekte",
        "Katalanisch: col·laboració",
    ],
)
def test_things_that_must_not_be_split(keep: str) -> None:
    assert texts(keep) == [keep]


def test_url_followed_by_sentence_end_still_splits() -> None:
    assert texts("See www.example.com. Then apply.") == ["See www.example.com.", "Then apply."]


def test_unicode_text_and_offsets() -> None:
    raw = "¿Qué aprenderás? Análisis de datos.Über Ökonomie lernen • 数据分析"
    assert texts(raw) == [
        "¿Qué aprenderás?",
        "Análisis de datos.",
        "Über Ökonomie lernen",
        "数据分析",
    ]


def test_coursera_style_real_line() -> None:
    raw = (
        "Learn about no-code app development and the use cases for building no-code apps."
        "Learn to navigate the AppSheet UI and editor to build and test a no-code app."
        "Create and deploy a simple app."
    )
    assert len(split_statements(raw)) == 3


def test_long_text_is_fast() -> None:
    import time

    raw = "Students understand databases.They can write SQL; they design schemas.\\n" * 3000
    t0 = time.perf_counter()
    pieces = split_statements(raw)
    assert time.perf_counter() - t0 < 2.0
    assert len(pieces) == 9000


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"aZé1 .;:!?\n•-*()", "\\n", "e.g.", "U.S.", "1. ", "dataPerform", "x.Y"]),
        max_size=60,
    ).map("".join)
)
def test_spans_always_index_the_original(raw: str) -> None:
    pieces = split_statements(raw)
    last_end = 0
    for p in pieces:
        assert raw[p.start : p.end] == p.text
        assert p.start >= last_end and p.end > p.start  # ordered, non-overlapping
        assert p.text == p.text.strip() and any(ch.isalnum() for ch in p.text)
        last_end = p.end


def test_splitting_is_idempotent_on_its_own_output() -> None:
    raw = "Plan the work.Build it; test it\\n• ship it. Then 2) review (e.g. PRs)."
    for p in split_statements(raw):
        assert texts(p.text) == [p.text]


def test_normalize_text() -> None:
    assert normalize_text("  a\u200b b\t\n c\\n d\x00 ") == "a b c d"
    assert normalize_text("Cafe\u0301") == "Café"
    assert normalize_text("") == ""


def test_very_long_token_is_its_own_statement() -> None:
    # Such runs made the URL pattern backtrack quadratically; they are cut out first.
    text = "Intro line. " + "python" * 50_000 + " Closing words here."
    statements = split_statements(text)
    long = [s for s in statements if len(s.text) >= 300_000]
    assert len(long) == 1 and text[long[0].start : long[0].end] == long[0].text
    assert statements[0].text == "Intro line." and statements[-1].text == "Closing words here."


def _cpu_seconds(text: str) -> float:
    import time

    started = time.process_time()
    split_statements(text)
    return time.process_time() - started


def _repeat(pattern: str, size: int) -> str:
    return (pattern * (size // len(pattern) + 1))[:size]


def test_one_mebibyte_of_emails_and_semicolons_splits_in_under_a_second() -> None:
    # Every cut used to be tested against every e-mail/URL span (quadratic: 1.0 s at 36 kB,
    # tens of minutes at 1 MiB). CPU time of this process, so other load does not count.
    text = _repeat("a@b.eu ; ", 1 << 20)
    assert min(_cpu_seconds(text) for _ in range(2)) < 1.0  # ~0.6 s on a quiet machine
    statements = split_statements(text)
    assert len(statements) == text.count(";") + 1
    assert all(text[s.start : s.end] == s.text == "a@b.eu" for s in statements[:-1])


@pytest.mark.parametrize(
    "pattern",
    ["a@b.eu ; ", "see www.x.eu. A b. ", "(a) b; ", "Go. Now. ", "1. x. ", "dataPerform "],
)
def test_splitting_time_grows_linearly(pattern: str) -> None:
    # 16x the text: linear is ~16x the time, the old quadratic cuts were ~256x.
    # Best of a few runs each (allocator and cache effects swing one run by 1.5x); 64x
    # leaves room for that and still fails the 256x of a quadratic split.
    small = min(_cpu_seconds(_repeat(pattern, 1 << 16)) for _ in range(3))
    large = min(_cpu_seconds(_repeat(pattern, 1 << 20)) for _ in range(2))
    assert large < 64 * max(small, 0.005)
