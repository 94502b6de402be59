"""Free-text field parsers for scraped catalogues.

Every parser is pure, takes the raw cell text (or ``None``) and returns a value or ``None``
when the text is missing or says nothing usable. Parsers convert only what the text states:
a calendar span ("3 - 6 Months") is not a workload, and "Beginner" is not an EQF level, so
those come back as ``None`` rather than as a guess.

Parsers that find *broken structure* (an unparsable list literal) raise ``ValueError`` so the
importer can report the cell; "no number in this text" is not an error, just ``None``.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NamedTuple

__all__ = [
    "MULTI_COLUMN_PARSERS",
    "PARSERS",
    "Price",
    "country_alpha3",
    "country_code",
    "hours_to_iso_duration",
    "iso_duration_to_hours",
    "is_missing",
    "language_alpha3",
    "language_code",
    "parse_bodies",
    "parse_comma_list",
    "parse_country",
    "parse_date",
    "parse_ects",
    "parse_effort_hours",
    "parse_float",
    "parse_hours",
    "parse_int",
    "parse_languages",
    "parse_list_literal",
    "parse_mode",
    "parse_price",
    "parse_rating",
    "parse_text",
]

_MISSING = frozenset(
    {"", "not specified", "nan", "n/a", "na", "none", "null", "-", "--", "—", "[]", "unknown"}
)


def is_missing(text: object) -> bool:
    """True for empty cells and the placeholders scrapers write instead ("Not specified")."""
    if text is None:
        return True
    if isinstance(text, float) and math.isnan(text):
        return True
    return str(text).strip().lower() in _MISSING


def parse_text(text: str | None) -> str | None:
    """Stripped text, with literal ``\\n`` made real newlines; ``None`` when missing."""
    if is_missing(text):
        return None
    assert text is not None
    return text.replace("\\r\\n", "\n").replace("\\n", "\n").strip() or None


_NUM_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")


def _to_number(token: str) -> float:
    """'6,706' -> 6706, '6,0' -> 6.0, '1.234,5' -> 1234.5, '7.5' -> 7.5."""
    token = token.lstrip("+")
    if "," in token and "." in token:  # both: the last one is the decimal mark
        if token.rfind(",") > token.rfind("."):
            token = token.replace(".", "").replace(",", ".")
        else:
            token = token.replace(",", "")
    elif "," in token:
        # one comma followed by exactly three digits is a thousands separator ("6,706")
        token = token.replace(",", "") if _THOUSANDS_RE.match(token) else token.replace(",", ".")
    elif token.count(".") > 1:  # "1.234.567"
        token = token.replace(".", "")
    return float(token)


def parse_float(text: str | float | int | None) -> float | None:
    """First number in the text ('4.8', '6,0', 'approx. 12 h'); ``None`` if there is none."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return None if math.isnan(text) else float(text)
    if is_missing(text):
        return None
    m = _NUM_RE.search(str(text))
    if not m:
        return None
    try:
        return _to_number(m.group())
    except ValueError:
        return None


def parse_int(text: str | int | None) -> int | None:
    """Integer counts with thousands separators ('6,706' -> 6706, '124,980' -> 124980)."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if is_missing(text):
        return None
    m = _NUM_RE.search(str(text))
    if not m:
        return None
    token = m.group()
    if _THOUSANDS_RE.match(token):
        return int(re.sub(r"[.,]", "", token))
    value = _to_number(token)
    return int(value) if value.is_integer() else None


def parse_rating(text: str | None) -> float | None:
    """A 0-5 star rating. 0 means "not rated yet" on Coursera (0 reviews), so it is ``None``."""
    value = parse_float(text)
    if value is None or value <= 0 or value > 5:
        return None
    return value


# --- workload -------------------------------------------------------------------------------

_UNIT_HOURS = {
    "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0, "std": 1.0, "stunden": 1.0,
    "heures": 1.0, "horas": 1.0, "ore": 1.0, "uur": 1.0,
    "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "minuten": 1 / 60,
}  # fmt: skip
# Calendar units: a span of weeks/months is not a workload unless hours per week are given.
_CALENDAR_UNITS = re.compile(r"\b(?:day|days|week|weeks|month|months|year|years|semester)\b", re.I)
_AMOUNT_UNIT_RE = re.compile(
    r"(\d+(?:[.,]\d+)?)(?:\s*(?:-|–|—|to|bis)\s*(\d+(?:[.,]\d+)?))?\s*([a-zA-Z]+)?"
)
_RANGE_RE = re.compile(r"(\d+(?:[.,]\d+)?)(?:\s*(?:-|–|—|to|bis)\s*(\d+(?:[.,]\d+)?))?")


def _range_mid(low: str, high: str | None) -> float:
    lo = _to_number(low)
    return (lo + _to_number(high)) / 2 if high else lo


def parse_hours(text: str | float | None) -> float | None:
    """Notional workload in hours.

    '12' -> 12 (a bare number is taken as hours: the column says so), 'Approx. 12 hours' -> 12,
    '1 hour 30 minutes' -> 1.5, '10-12 hours' -> 11. Calendar spans ('3 - 6 Months',
    '1 - 4 Weeks') and bounds ('Less Than 2 Hours') give ``None``: turning them into hours
    would need a pace the source does not state.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return None if math.isnan(text) or text < 0 else float(text)
    if is_missing(text):
        return None
    s = str(text).strip()
    if re.match(r"^P(?:\d|T)", s):
        return iso_duration_to_hours(s)
    if _CALENDAR_UNITS.search(s) or re.search(r"\b(?:less|more|under|over|up to)\b", s, re.I):
        return None
    with_unit: list[float] = []
    bare: list[float] = []
    for m in _AMOUNT_UNIT_RE.finditer(s):
        unit = (m.group(3) or "").lower()
        if unit in _UNIT_HOURS:
            with_unit.append(_range_mid(m.group(1), m.group(2)) * _UNIT_HOURS[unit])
        elif not unit:
            bare.append(_range_mid(m.group(1), m.group(2)))
    if with_unit:  # '1 hour 30 minutes'; stray bare numbers are not hours
        return round(sum(with_unit), 2)
    return bare[0] if len(bare) == 1 else None  # '12': the column is in hours


def parse_effort_hours(effort: str | None, length: str | None) -> float | None:
    """edX workload: '2–3 hours per week' x '6 Weeks' -> 2.5 * 6 = 15 hours.

    Both parts must be stated; the midpoint of an hours range is used.
    """
    if is_missing(effort) or is_missing(length):
        return None
    assert effort is not None and length is not None
    per_week = re.search(
        r"(\d+(?:[.,]\d+)?)(?:\s*(?:-|–|—|to)\s*(\d+(?:[.,]\d+)?))?\s*(?:hours?|hrs?|h)\b"
        r"\s*(?:per|a|/)\s*week",
        effort,
        re.I,
    )
    weeks = re.search(r"(\d+(?:[.,]\d+)?)\s*weeks?\b", length, re.I)
    if not per_week or not weeks:
        return None
    return round(_range_mid(per_week.group(1), per_week.group(2)) * _to_number(weeks.group(1)), 2)


_ISO_DURATION_RE = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def iso_duration_to_hours(text: str | None) -> float | None:
    """ISO 8601 duration as a workload: 'PT60H' -> 60, 'PT90M' -> 1.5.

    Only time parts (H, M, S) are converted. Years/months/weeks/days of learning have no
    fixed number of study hours, so a duration using them gives ``None``.
    """
    if is_missing(text):
        return None
    assert text is not None
    m = _ISO_DURATION_RE.match(text.strip())
    if not m or not any(m.groups()):
        return None
    years, months, weeks, days, hours, minutes, seconds = m.groups()
    if years or months or weeks or days:
        return None
    return float(hours or 0) + float(minutes or 0) / 60 + float(seconds or 0) / 3600


def hours_to_iso_duration(hours: float) -> str:
    """60 -> 'PT60H', 1.5 -> 'PT1H30M' (the inverse of :func:`iso_duration_to_hours`)."""
    whole = int(hours)
    minutes = round((hours - whole) * 60, 4)
    if minutes:
        minutes_txt = f"{int(minutes)}" if float(minutes).is_integer() else f"{minutes:g}"
        return f"PT{whole}H{minutes_txt}M" if whole else f"PT{minutes_txt}M"
    return f"PT{whole}H"


# --- credits --------------------------------------------------------------------------------


def parse_ects(text: str | float | None) -> float | None:
    """ECTS credits from '["6"]', '["5", "7.5"]', '["6,0"]', '["2 (10)"]', '6 ECTS', '4 CP'.

    The first value in a sensible range (0 < x <= 240) wins; ``[]`` and '0' give ``None``.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        values: list[object] = [text]
    elif is_missing(text):
        return None
    else:
        s = str(text).strip()
        values = _loose_list(s) if s.startswith("[") else [s]
    for v in values:
        number = parse_float(str(v)) if not isinstance(v, int | float) else float(v)
        if number is not None and 0 < number <= 240:
            return number
    return None


def _loose_list(s: str) -> list[object]:
    """A JSON or Python list literal; a non-list literal becomes a one-element list."""
    try:
        value = json.loads(s)
    except ValueError:
        try:
            value = ast.literal_eval(s)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError(f"not a list literal: {s[:60]!r}") from exc
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def parse_list_literal(text: str | None) -> list[str]:
    """A Python/JSON list string ("['a', 'b']") as a list of non-empty stripped strings.

    Uses ``ast.literal_eval`` (never ``eval``). ``"[]"`` and missing cells give ``[]``;
    text that is not a list literal raises ``ValueError``.
    """
    if text is None or str(text).strip() in ("", "[]"):
        return []
    s = str(text).strip()
    if not s.startswith("["):
        raise ValueError(f"not a list literal: {s[:60]!r}")
    return [str(v).strip() for v in _loose_list(s) if v is not None and str(v).strip()]


def parse_comma_list(text: str | None) -> list[str]:
    """'Python, SQL (Programming Language), Data Analysis' -> three items (commas inside
    brackets do not split); duplicates dropped, order kept."""
    if is_missing(text):
        return []
    assert text is not None
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and not is_missing(item) and item not in out:
            out.append(item)
    return out


_CORPORATE_SUFFIX_RE = re.compile(
    r"^(?:inc|ltd|llc|plc|gmbh|ag|sa|s\.a|corp|co|lp|llp|sas|bv|nv|s\.l|srl)\b\.?", re.I
)


def parse_bodies(text: str | None) -> str | None:
    """Several providers in one cell ('Universidad ORT Uruguay, The University of Edinburgh')
    joined with '; '; a corporate suffix ('ADP, Inc. (ADP)') stays with its name."""
    parts = parse_comma_list(text)
    merged: list[str] = []
    for part in parts:
        if merged and _CORPORATE_SUFFIX_RE.match(part):
            merged[-1] = f"{merged[-1]}, {part}"
        else:
            merged.append(part)
    return "; ".join(merged) or None


# --- price ----------------------------------------------------------------------------------


class Price(NamedTuple):
    """A parsed price. ``certificate_price`` is the paid add-on of a free course (edX)."""

    price: float | None
    currency: str | None
    is_free: bool | None
    certificate_price: float | None = None


_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
_PRICE_RE = re.compile(
    r"(?P<sym>[$€£¥₹])?\s*(?P<amount>\d+(?:[.,]\d+)*)\s*(?P<code>[A-Z]{3})?(?![a-zA-Z])"
)


def _money(match: re.Match[str]) -> tuple[float, str | None]:
    code = match.group("code") or _CURRENCY_SYMBOLS.get(match.group("sym") or "")
    return _to_number(match.group("amount")), code


def parse_price(text: str | None) -> Price:
    """'FREE-Add a Verified Certificate for $49 USD' -> Price(0.0, 'USD', True, 49.0);
    '$199 USD' -> Price(199.0, 'USD', False); 'Free' -> Price(0.0, None, True)."""
    if is_missing(text):
        return Price(None, None, None)
    assert text is not None
    s = text.strip()
    free = re.match(r"^\s*(?:free|gratis|kostenlos|gratuit|gratuito)\b", s, re.I) is not None
    money = [m for m in _PRICE_RE.finditer(s) if m.group("sym") or m.group("code")]
    if free:
        if money:
            amount, code = _money(money[0])
            return Price(0.0, code, True, amount)
        return Price(0.0, None, True)
    if money:
        amount, code = _money(money[0])
        return Price(amount, code, amount == 0)
    return Price(None, None, None)


# --- languages ------------------------------------------------------------------------------

# ISO 639-1 code -> names/spellings seen in catalogues (English, native, German, French,
# Spanish, Italian, Dutch exonyms) and ISO 639-2/EU-authority three-letter codes.
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("english", "englisch", "anglais", "inglés", "ingles", "inglese", "engels", "eng"),
    "de": ("german", "deutsch", "allemand", "alemán", "aleman", "tedesco", "duits", "deu", "ger"),
    "fr": ("french", "français", "francais", "französisch", "francés", "frances", "francese",
           "frans", "fra", "fre"),
    "es": ("spanish", "español", "espanol", "spanisch", "espagnol", "spagnolo", "castellano",
           "castilian", "spaans", "spa"),
    "it": ("italian", "italiano", "italienisch", "italien", "italiaans", "ita"),
    "nl": ("dutch", "nederlands", "niederländisch", "néerlandais", "flemish", "vlaams",
           "nld", "dut"),
    "pt": ("portuguese", "português", "portugues", "portugiesisch", "portugais", "por"),
    "da": ("danish", "dansk", "dänisch", "danois", "dan"),
    "sv": ("swedish", "svenska", "schwedisch", "suédois", "swe"),
    "no": ("norwegian", "norsk", "norwegisch", "nor", "nob", "nno"),
    "fi": ("finnish", "suomi", "finnisch", "fin"),
    "is": ("icelandic", "íslenska", "isl", "ice"),
    "el": ("greek", "ελληνικά", "griechisch", "grec", "ell", "gre"),
    "pl": ("polish", "polski", "polnisch", "pol"),
    "cs": ("czech", "čeština", "cestina", "tschechisch", "ces", "cze"),
    "sk": ("slovak", "slovenčina", "slowakisch", "slk", "slo"),
    "sl": ("slovenian", "slovene", "slovenščina", "slowenisch", "slv"),
    "hu": ("hungarian", "magyar", "ungarisch", "hun"),
    "ro": ("romanian", "română", "romana", "rumänisch", "ron", "rum"),
    "bg": ("bulgarian", "български", "bulgarisch", "bul"),
    "hr": ("croatian", "hrvatski", "kroatisch", "hrv"),
    "sr": ("serbian", "srpski", "српски", "srp"),
    "et": ("estonian", "eesti", "estnisch", "est"),
    "lv": ("latvian", "latviešu", "lettisch", "lav"),
    "lt": ("lithuanian", "lietuvių", "litauisch", "lit"),
    "mt": ("maltese", "malti", "maltesisch", "mlt"),
    "ga": ("irish", "gaeilge", "irisch", "gle"),
    "cy": ("welsh", "cymraeg", "cym", "wel"),
    "lb": ("luxembourgish", "lëtzebuergesch", "luxemburgisch", "ltz"),
    "ca": ("catalan", "català", "katalanisch", "cat"),
    "eu": ("basque", "euskara", "baskisch", "eus", "baq"),
    "gl": ("galician", "galego", "glg"),
    "tr": ("turkish", "türkçe", "turkce", "türkisch", "tur"),
    "ru": ("russian", "русский", "russisch", "rus"),
    "uk": ("ukrainian", "українська", "ukrainisch", "ukr"),
    "ar": ("arabic", "العربية", "اللغة العربية", "arabisch", "ara"),
    "he": ("hebrew", "עברית", "hebräisch", "heb"),
    "zh": ("chinese", "中文", "mandarin", "chinesisch", "zho", "chi"),
    "ja": ("japanese", "日本語", "japanisch", "jpn"),
    "ko": ("korean", "한국어", "koreanisch", "kor"),
    "hi": ("hindi", "हिन्दी", "हिंदी", "hin"),
    "id": ("indonesian", "bahasa indonesia", "indonesisch", "ind"),
    "vi": ("vietnamese", "tiếng việt", "vie"),
    "th": ("thai", "ไทย", "tha"),
    "la": ("latin", "latein", "lat"),
}  # fmt: skip
_LANGUAGE_NAMES = {name: code for code, names in _LANGUAGES.items() for name in names}
_LANGUAGE_SPLIT_RE = re.compile(r"[,;/|&+()\[\]]")


def language_code(name: str | None) -> str | None:
    """One language name or code ('Englisch', 'EN', 'ENG', 'Español') -> ISO 639-1, else None.

    Also accepts EU publications-office URIs (.../authority/language/ENG).
    """
    if not name:
        return None
    s = name.strip().rsplit("/", 1)[-1].strip().lower()
    if len(s) == 2 and s in _LANGUAGES:
        return s
    return _LANGUAGE_NAMES.get(s)


def language_alpha3(code: str) -> str | None:
    """ISO 639-1 -> the three-letter code EU authority tables use ('en' -> 'ENG')."""
    for name in _LANGUAGES.get(code.lower(), ()):
        if len(name) == 3 and name.isascii() and name.isalpha():
            return name.upper()
    return None


def parse_languages(text: str | None) -> list[str]:
    """'German or English' -> ['de', 'en']; 'Deutsch, Englisch' -> ['de', 'en']; 'EN' -> ['en'].

    Two-letter codes count only when they stand alone in a list item (so the Spanish 'de' in
    running text is not German); unknown words are dropped; order kept, no duplicates.
    """
    if is_missing(text):
        return []
    assert text is not None
    out: list[str] = []

    def add(code: str | None) -> None:
        if code and code not in out:
            out.append(code)

    for chunk in _LANGUAGE_SPLIT_RE.split(text):
        chunk = chunk.strip()
        if not chunk:
            continue
        whole = language_code(chunk)
        if whole:
            add(whole)
            continue
        for word in re.findall(r"[^\W\d_]+", chunk):
            # codes ('de', 'por') only count as a whole item, not as words in running text
            if len(word) > 3 or not word.isascii():
                add(_LANGUAGE_NAMES.get(word.lower()))
    return out


# --- countries ------------------------------------------------------------------------------

# alpha-2, alpha-3, names (English, native, German, French); EU/EEA and frequent others.
_COUNTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AT", "AUT", ("austria", "österreich", "autriche")),
    ("BE", "BEL", ("belgium", "belgië", "belgique", "belgien")),
    ("BG", "BGR", ("bulgaria", "bulgarien")),
    ("HR", "HRV", ("croatia", "hrvatska", "kroatien")),
    ("CY", "CYP", ("cyprus", "zypern")),
    ("CZ", "CZE", ("czechia", "czech republic", "tschechien", "česko")),
    ("DK", "DNK", ("denmark", "danmark", "dänemark")),
    ("EE", "EST", ("estonia", "eesti", "estland")),
    ("FI", "FIN", ("finland", "suomi", "finnland")),
    ("FR", "FRA", ("france", "frankreich")),
    ("DE", "DEU", ("germany", "deutschland", "allemagne")),
    ("GR", "GRC", ("greece", "ελλάδα", "griechenland", "hellas")),
    ("HU", "HUN", ("hungary", "magyarország", "ungarn")),
    ("IE", "IRL", ("ireland", "éire", "irland")),
    ("IT", "ITA", ("italy", "italia", "italien")),
    ("LV", "LVA", ("latvia", "latvija", "lettland")),
    ("LT", "LTU", ("lithuania", "lietuva", "litauen")),
    ("LU", "LUX", ("luxembourg", "luxemburg")),
    ("MT", "MLT", ("malta",)),
    ("NL", "NLD", ("netherlands", "the netherlands", "nederland", "niederlande", "holland")),
    ("PL", "POL", ("poland", "polska", "polen")),
    ("PT", "PRT", ("portugal",)),
    ("RO", "ROU", ("romania", "românia", "rumänien")),
    ("SK", "SVK", ("slovakia", "slovensko", "slowakei")),
    ("SI", "SVN", ("slovenia", "slovenija", "slowenien")),
    ("ES", "ESP", ("spain", "españa", "spanien")),
    ("SE", "SWE", ("sweden", "sverige", "schweden")),
    ("IS", "ISL", ("iceland", "ísland", "island")),
    ("LI", "LIE", ("liechtenstein",)),
    ("NO", "NOR", ("norway", "norge", "norwegen")),
    ("CH", "CHE", ("switzerland", "schweiz", "suisse", "svizzera")),
    ("GB", "GBR", ("united kingdom", "uk", "great britain", "britain", "england", "scotland",
                   "wales", "northern ireland", "vereinigtes königreich")),
    ("TR", "TUR", ("turkey", "türkiye", "türkei")),
    ("UA", "UKR", ("ukraine",)),
    ("RS", "SRB", ("serbia", "srbija")),
    ("US", "USA", ("united states", "united states of america", "usa", "u.s.", "u.s.a.")),
    ("CA", "CAN", ("canada",)),
    ("AU", "AUS", ("australia",)),
    ("IN", "IND", ("india",)),
    ("CN", "CHN", ("china",)),
    ("JP", "JPN", ("japan",)),
    ("IL", "ISR", ("israel",)),
    ("MX", "MEX", ("mexico", "méxico")),
    ("BR", "BRA", ("brazil", "brasil")),
    ("AR", "ARG", ("argentina",)),
    ("CO", "COL", ("colombia",)),
    ("CL", "CHL", ("chile",)),
    ("UY", "URY", ("uruguay",)),
    ("PE", "PER", ("peru", "perú")),
    ("KR", "KOR", ("south korea", "korea")),
    ("SG", "SGP", ("singapore",)),
    ("HK", "HKG", ("hong kong",)),
)  # fmt: skip
_COUNTRY_BY_NAME = {n: a2 for a2, _a3, names in _COUNTRIES for n in names}
_COUNTRY_BY_A3 = {a3: a2 for a2, a3, _names in _COUNTRIES}
_COUNTRY_A2 = {a2 for a2, _a3, _names in _COUNTRIES}
_COUNTRY_A3_BY_A2 = {a2: a3 for a2, a3, _names in _COUNTRIES}


def country_code(text: str | None) -> str | None:
    """Country name, alpha-2/alpha-3 code or EU authority URI (.../country/IRL) -> alpha-2."""
    if is_missing(text):
        return None
    assert text is not None
    s = text.strip().rsplit("/", 1)[-1].strip()
    if len(s) == 2 and s.upper() in _COUNTRY_A2:
        return s.upper()
    if len(s) == 3 and s.upper() in _COUNTRY_BY_A3:
        return _COUNTRY_BY_A3[s.upper()]
    return _COUNTRY_BY_NAME.get(s.lower())


def country_alpha3(alpha2: str) -> str | None:
    """'IE' -> 'IRL' (for EU publications-office country URIs)."""
    return _COUNTRY_A3_BY_A2.get(alpha2.upper())


def parse_country(text: str | None) -> str | None:
    """ISO 3166-1 alpha-2 when the country is recognised, else the stripped text as found
    (a city such as 'Amsterdam' stays text: mapping it would be a guess)."""
    if is_missing(text):
        return None
    assert text is not None
    return country_code(text) or text.strip()


# --- dates ----------------------------------------------------------------------------------


def parse_date(text: str | None) -> date | None:
    """ISO date or datetime ('2022-12-31', '2022-12-31T23:00:00Z') -> date; else ``None``.

    The calendar date as written is kept (no time-zone shifting).
    """
    if is_missing(text):
        return None
    assert text is not None
    s = text.strip()
    m = re.match(r"^(\d{4}-\d{2}-\d{2})", s)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y-%m-%d").date()
    except ValueError:
        return None


# --- form of participation ------------------------------------------------------------------

_MODE_WORDS = (
    ("blended", ("blended", "hybrid", "mixed mode", "gemischt")),
    ("online", ("online", "e-learning", "elearning", "distance", "remote", "virtual", "mooc")),
    ("onsite", ("onsite", "on-site", "on site", "in person", "in-person", "face-to-face",
                "face to face", "campus", "classroom", "präsenz", "presencial", "présentiel")),
)  # fmt: skip


def parse_mode(text: str | None) -> str | None:
    """Form of participation as 'online' | 'onsite' | 'blended' (ELM labels/URIs too).

    Text naming both online and on-site participation counts as blended.
    """
    if is_missing(text):
        return None
    assert text is not None
    s = text.strip().lower()
    hits = {mode for mode, words in _MODE_WORDS if any(w in s for w in words)}
    if "blended" in hits or {"online", "onsite"} <= hits:
        return "blended"
    return next(iter(hits)) if len(hits) == 1 else None


def _list_joined(text: str | None) -> str | None:
    return "; ".join(parse_list_literal(text)) or None


# Parser names usable in mapping files. A parser returning a dict sets several fields.
def _price_fields(text: str | None) -> dict[str, Any]:
    p = parse_price(text)
    return {
        "price": p.price,
        "currency": p.currency,
        "is_free": p.is_free,
        "certificate_price": p.certificate_price,
    }


PARSERS: dict[str, Callable[[Any], Any]] = {
    "text": parse_text,
    "float": parse_float,
    "int": parse_int,
    "rating": parse_rating,
    "hours": parse_hours,
    "ects": parse_ects,
    "languages": parse_languages,
    "language": parse_languages,
    "country": parse_country,
    "date": parse_date,
    "list_literal": parse_list_literal,
    "comma_list": parse_comma_list,
    "bodies": parse_bodies,
    "price": _price_fields,
    "mode": parse_mode,
    "list_joined": _list_joined,
    "effort_hours": parse_effort_hours,
}
# Parsers that take one argument per column instead of the columns' joined text.
MULTI_COLUMN_PARSERS = frozenset({"effort_hours"})
