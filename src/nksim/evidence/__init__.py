"""The evidence layer: the ClinicalTrials.gov landscape of NK-cell therapy and a
red-flag checker for cell-therapy marketing claims.

This package knows nothing of the simulation; it depends only on ``nksim.errors``
and ``nksim._io``. Sources for every rule: ``nksim/evidence/data/*.toml`` and
docs/evidence.md.

Examples
--------
>>> from nksim.evidence import check_claim
>>> check_claim("包治百病，绝对安全！").verdict
'likely_scam'
"""

from __future__ import annotations

from ._claims import ClaimCheck, Flag, Suppressed, check_claim, detect_language
from ._normalise import Normalised, normalise

# Everything else is imported when first used, so that a claim check (``nksim
# check-claim``) waits only for what it needs: the registry client (httpx alone takes
# 0.05 s to import), the landscape, the corpus and the article's claims.
_LAZY = (
    dict.fromkeys(["Claim", "Finding", "assess", "load_claims"], "._article")
    | dict.fromkeys(["CorpusEvaluation", "Evaluation", "LabelledClaim", "evaluate_claims",
                     "evaluate_corpus", "load_labelled_claims"], "._claims_eval")
    | dict.fromkeys(["INDICATIONS", "PRODUCT_TYPES", "Classification", "classify_study"],
                    "._classify")
    | dict.fromkeys(["CorpusText", "load_corpus"], "._corpus")
    | {"normalize_country": "._countries"}
    | dict.fromkeys(["PartialDate", "parse_partial_date"], "._dates")
    | dict.fromkeys(["PHASE_BUCKETS", "DataSource", "Landscape", "build_landscape",
                     "landscape_from_snapshot", "landscape_from_store"], "._landscape")
    | dict.fromkeys(["Intervention", "StudyRecord", "parse_study"], "._record")
    | dict.fromkeys(["Snapshot", "demo_snapshot_path", "load_snapshot"], "._snapshot")
    | dict.fromkeys(["FetchInfo", "StudyStore", "default_data_dir", "default_store_path"],
                    "._store")
    | dict.fromkeys(["BASE_URL", "DEFAULT_FIELDS", "DEFAULT_QUERY", "Page", "RegistryClient",
                     "RegistryError", "check_params"], "._client")
    | {"fetch_to_store": "._fetch"}
)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(_LAZY[name], __name__), name)


__all__ = [
    "Claim",
    "Finding",
    "assess",
    "load_claims",
    "BASE_URL",
    "DEFAULT_FIELDS",
    "DEFAULT_QUERY",
    "INDICATIONS",
    "PHASE_BUCKETS",
    "PRODUCT_TYPES",
    "ClaimCheck",
    "Classification",
    "DataSource",
    "Evaluation",
    "FetchInfo",
    "Flag",
    "Intervention",
    "LabelledClaim",
    "Landscape",
    "Page",
    "PartialDate",
    "RegistryClient",
    "RegistryError",
    "Snapshot",
    "StudyRecord",
    "StudyStore",
    "Suppressed",
    "build_landscape",
    "check_claim",
    "CorpusEvaluation",
    "CorpusText",
    "evaluate_corpus",
    "load_corpus",
    "normalise",
    "Normalised",
    "check_params",
    "classify_study",
    "default_data_dir",
    "default_store_path",
    "demo_snapshot_path",
    "detect_language",
    "evaluate_claims",
    "fetch_to_store",
    "landscape_from_snapshot",
    "landscape_from_store",
    "load_labelled_claims",
    "load_snapshot",
    "normalize_country",
    "parse_partial_date",
    "parse_study",
]
