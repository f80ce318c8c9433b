"""Normalising the country names found in registry location records.

ClinicalTrials.gov writes ISO-style long names such as ``"Korea, Republic of"``
(evidence.md §1.3); other sources and older snapshots write ``"South Korea"``,
``"USA"`` or ``"P.R. China"``. Counting by country needs one name per country.
Hong Kong, Macau and Taiwan are kept apart from China because the registry lists
them apart; merging them would be a political choice, not a normalisation.
"""

from __future__ import annotations

import re
import unicodedata

# alias (case-folded, punctuation-light) -> canonical name
_ALIASES: dict[str, str] = {
    "united states": "United States",
    "united states of america": "United States",
    "usa": "United States",
    "us": "United States",
    "u s": "United States",
    "u s a": "United States",
    "america": "United States",
    "united kingdom": "United Kingdom",
    "uk": "United Kingdom",
    "u k": "United Kingdom",
    "great britain": "United Kingdom",
    "england": "United Kingdom",
    "scotland": "United Kingdom",
    "wales": "United Kingdom",
    "northern ireland": "United Kingdom",
    "china": "China",
    "people s republic of china": "China",
    "peoples republic of china": "China",
    "pr china": "China",
    "p r china": "China",
    "prc": "China",
    "mainland china": "China",
    "korea republic of": "South Korea",
    "republic of korea": "South Korea",
    "south korea": "South Korea",
    "korea south": "South Korea",
    "korea": "South Korea",
    "korea democratic people s republic of": "North Korea",
    "north korea": "North Korea",
    "taiwan": "Taiwan",
    "taiwan province of china": "Taiwan",
    "chinese taipei": "Taiwan",
    "hong kong": "Hong Kong",
    "hong kong sar": "Hong Kong",
    "macau": "Macau",
    "macao": "Macau",
    "iran islamic republic of": "Iran",
    "iran": "Iran",
    "russian federation": "Russia",
    "russia": "Russia",
    "viet nam": "Vietnam",
    "vietnam": "Vietnam",
    "czech republic": "Czechia",
    "czechia": "Czechia",
    "turkey": "Türkiye",
    "turkiye": "Türkiye",
    "macedonia the former yugoslav republic of": "North Macedonia",
    "north macedonia": "North Macedonia",
    "moldova republic of": "Moldova",
    "moldova": "Moldova",
    "syrian arab republic": "Syria",
    "lao people s democratic republic": "Laos",
    "tanzania united republic of": "Tanzania",
    "tanzania": "Tanzania",
    "congo the democratic republic of the": "DR Congo",
    "democratic republic of the congo": "DR Congo",
    "bolivia plurinational state of": "Bolivia",
    "venezuela bolivarian republic of": "Venezuela",
    "palestinian territory occupied": "Palestine",
    "palestine state of": "Palestine",
    "cote d ivoire": "Côte d'Ivoire",
    "ivory coast": "Côte d'Ivoire",
    "netherlands": "Netherlands",
    "the netherlands": "Netherlands",
    "holland": "Netherlands",
}


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()
    return text


def normalize_country(name: object) -> str | None:
    """Return one canonical English name for a registry country string.

    Unknown names are returned trimmed and unchanged (never dropped), so a new
    registry spelling shows up in the report instead of disappearing.

    Examples
    --------
    >>> normalize_country("Korea, Republic of")
    'South Korea'
    >>> normalize_country("  USA ")
    'United States'
    >>> normalize_country("") is None
    True
    """
    if not isinstance(name, str) or not name.strip():
        return None
    cleaned = " ".join(name.split())
    return _ALIASES.get(_key(cleaned), cleaned)
