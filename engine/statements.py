"""One statement splitter for learning outcomes, CVs and job ads.

Every text that gets matched against ESCO is cut into short statements first, and all callers
must cut the same way, otherwise a course and a CV that say the same thing are compared at
different granularities. Spans are kept as character offsets into the *original* string so the
UI can highlight the evidence for a match without re-searching the text.

The splitter is rule based (no model): scraped catalogue text is messy in a few recurring ways
(run-together sentences ``techniques.Proficiency``, literal ``\\n`` sequences, bullet glyphs),
and each of those has a rule here with a test in ``tests/test_statements.py``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["Statement", "normalize_text", "split_statements"]


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement and where it sits: ``text == original[start:end]``."""

    text: str
    start: int
    end: int


# Glyphs that always separate items, wherever they appear.
# (U+E000-U+F8FF: private-use glyphs that Word's Symbol/Wingdings bullets turn into.)
_HARD_BULLETS = "•▪▫◦‣●○■□➢➤►✓✔\ue000-\uf8ff"
# Hard separators: real line breaks, literal two-character "\n" / "\r" escapes (scraped data),
# semicolons (also the look-alike Greek question mark and fullwidth ';'), hard bullets,
# and a middle dot only when it stands alone between spaces (Catalan
# writes "col·laboració").
_SEPARATOR_RE = re.compile(
    r"\r\n|[\r\n\u2028\u2029\u0085]|\\r\\n|\\n|\\r|[;\u037e\uff1b]|["
    + _HARD_BULLETS
    + r"]|(?<=\s)·(?=\s)"
)
# Sentence end: . ! ? (plus closing quotes/brackets) then whitespace; checked further in code.
_SENTENCE_END_RE = re.compile(r"[.!?][\"'”’»)\]]*(?=\s+(\S))")
# Run-together sentences: lowercase letter or ")" then "." then an uppercase letter.
_RUN_TOGETHER_RE = re.compile(r"(?<=[^\W\d_A-Z]|\))\.(?=[^\W\d_a-z])")
# Bullets run together with no separator at all ("select your dataPerform descriptive..."):
# an all-lowercase word of 3+ letters glued to one capitalised word. JavaScript, YouTube,
# iPhone, eCommerce and multi-hump identifiers (getElementById) do not match.
_GLUED_RE = re.compile(r"\b[a-zß-öø-ÿ]{3,}(?=[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]{2,}\b)")
# Leading list markers removed from every piece: glyphs, dashes, "1.", "1)", "(a)", "iv)".
_LEADING_MARK_RE = re.compile(  # no "^": used as .match(text, start, end)
    r"(?:[\s\-–—*+·" + _HARD_BULLETS + r"]+|\(?\d{1,2}[.)](?=\s|$)|\(?(?:[a-z][.)]|[A-Z]\))(?=\s|$)"
    r"|\(?(?:i{1,3}|iv|v|vi{1,3}|ix|x)\)(?=\s|$))+"
)
# URLs and e-mail addresses are never split inside.
_URL_RE = re.compile(
    r"(?:https?://|ftp://|www\.)\S+?(?=[.,;:!?)\]]*(?:\s|$))|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I
)
# Words that end in a period without ending the sentence.
_ABBREVIATIONS = frozenset(
    """e.g i.e vs cf al approx ca dr mr mrs ms prof st no nr fig eq incl esp resp
    jr sr inc ltd co corp dept univ vol pp ed eds min max z.b bzw usw evtl ggf vgl sog
    d.h u.a o.ä s.o u.s u.k e.u ph.d m.sc b.sc m.a b.a mba""".replace(".", "").split()
)
_ABBR_DOTTED_RE = re.compile(r"^(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}\.?$")
_ABBR_TAIL_RE = re.compile(r"^[^\W\d_]{1,2}\.")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\ufeff]")
_WS_RE = re.compile(r"\s+")
_ALNUM_RE = re.compile(r"[^\W_]")  # one character for which str.isalnum() is true


def normalize_text(text: str) -> str:
    """Collapse whitespace and drop control/zero-width characters (NFC-normalised).

    For display and hashing only: spans from :func:`split_statements` refer to the raw text.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\\n", " ").replace("\\r", " ").replace("\\t", " ")
    return _WS_RE.sub(" ", _CONTROL_RE.sub("", text)).strip()


def _word_before(text: str, dot: int) -> str:
    """The whitespace-delimited token that ends at ``text[dot]`` (the dot excluded)."""
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:dot]
    # a literal "\n" (scraped data) also ends a token
    return token.rsplit("\\n", 1)[-1].rsplit("\\r", 1)[-1]


def _is_abbreviation(token: str) -> bool:
    token = token.lstrip("(\"'“‘[")
    if not token:
        return False
    if len(token) == 1 and token.isalpha():  # an initial: "J. Smith"
        return True
    if _ABBR_DOTTED_RE.match(token + "."):  # e.g, i.e, U.S, Ph.D
        return "." in token
    return token.lower().rstrip(".") in _ABBREVIATIONS


_MARKER_TOKEN_RE = re.compile(r"^\(?(?:\d{1,2}|[a-z])$")


def _is_list_marker(text: str, dot: int) -> bool:
    """'1.' / 'a.' opening a list item (start of text or line, or after a sentence end)."""
    token = _word_before(text, dot)
    if not _MARKER_TOKEN_RE.match(token):
        return False
    # Look back over spaces and tabs without copying the prefix (a copy per sentence end
    # made long texts quadratic).
    i = dot - len(token)
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    return i == 0 or text[i - 1] in "\n\r.!?;:" or text[max(0, i - 2) : i] in ("\\n", "\\r")


class _Spans:
    """Sorted, non-overlapping ``[a, b)`` spans (``finditer`` order) with an O(log n) lookup.

    Testing every cut against every URL/e-mail span was quadratic: 1 MiB of
    ``"a@b.eu ; "`` took tens of minutes under the import's write lock.
    """

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self.starts = [a for a, _ in spans]
        self.ends = [b for _, b in spans]

    def __contains__(self, pos: int) -> bool:
        i = bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.ends[i]


def _inside(pos: int, spans: _Spans) -> bool:
    return pos in spans


def _cuts(text: str) -> list[tuple[int, int]]:
    """Regions ``[a, b)`` to cut out; a zero-width region is a split between sentences."""
    protected = _Spans([m.span() for m in _URL_RE.finditer(text)])
    separators = [m.span() for m in _SEPARATOR_RE.finditer(text)]
    cuts = [c for c in separators if c[0] not in protected] if protected.starts else separators
    for m in _SENTENCE_END_RE.finditer(text):
        dot, end = m.start(), m.end()
        if _inside(dot, protected):
            continue
        nxt = m.group(1)
        if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘(¿¡"):
            continue
        if text[dot] == "." and _is_abbreviation(_word_before(text, dot)):
            continue
        if _is_list_marker(text, dot):
            continue
        cuts.append((end, end))
    for m in _RUN_TOGETHER_RE.finditer(text):
        dot = m.start()
        if _inside(dot, protected):
            continue
        word = _word_before(text, dot)
        # "Ph.D.": the letters after the dot are themselves an abbreviation piece.
        if _is_abbreviation(word) or _ABBR_TAIL_RE.match(text[dot + 1 : dot + 4]):
            continue
        cuts.append((dot + 1, dot + 1))
    for m in _GLUED_RE.finditer(text):
        if not _inside(m.end(), protected):
            cuts.append((m.end(), m.end()))
    cuts.sort()  # runs of sorted cuts: timsort merges them in linear time
    return [c for i, c in enumerate(cuts) if i == 0 or c != cuts[i - 1]]


def _split(text: str) -> list[Statement]:
    """Cut ``text`` into statements with offsets into the original string.

    Splits on line breaks (also literal ``\\n``), bullet glyphs and numbered list markers,
    semicolons, sentence ends (``. ! ?`` + space + capital/digit), run-together sentences
    (``techniques.Proficiency``) and glued bullets (``dataPerform``) while leaving ``e.g.``,
    ``U.S.``, ``Node.js``, ``ASP.NET``, ``3.5`` and URLs intact. Pieces without any letter or
    digit are dropped.
    """
    if not text:
        return []
    pieces: list[Statement] = []
    pos = 0
    for a, b in [*_cuts(text), (len(text), len(text))]:
        if a < pos:  # overlapping cut (e.g. sentence end right before a newline)
            pos = max(pos, b)
            continue
        _append_piece(text, pos, a, pieces)
        pos = b
    return pieces


def _append_piece(text: str, start: int, end: int, out: list[Statement]) -> None:
    # match(text, start, end) sees text[start:end] as the whole string ("$" included)
    # without copying it; this runs once per statement, so it is kept lean.
    lead = _LEADING_MARK_RE.match(text, start, end)
    if lead:
        start = lead.end()
    seg = text[start:end]
    piece = seg.strip()
    if not piece or (not piece[0].isalnum() and not _ALNUM_RE.search(piece)):
        return
    start += len(seg) - len(seg.lstrip())
    out.append(Statement(piece, start, start + len(piece)))


_LONG_RUN_RE = re.compile(r"\S{300,}")


def split_statements(text: str) -> list[Statement]:
    """Cut ``text`` into statements (see :func:`_split`), guarded against pathological input.

    The URL/e-mail pattern backtracks quadratically inside a very long run of non-space
    characters (1 MB of "pythonpython..." would take hours), so runs of 300+ characters (no
    real word is that long) are cut out first and kept as statements of their own; offsets
    still point into the original text.
    """
    out: list[Statement] = []
    pos = 0
    for m in _LONG_RUN_RE.finditer(text):
        out.extend(_shift(_split(text[pos : m.start()]), pos))
        out.append(Statement(m.group(), m.start(), m.end()))
        pos = m.end()
    out.extend(_shift(_split(text[pos:]), pos))
    return out


def _shift(statements: list[Statement], offset: int) -> list[Statement]:
    if not offset:
        return statements
    return [Statement(s.text, s.start + offset, s.end + offset) for s in statements]
