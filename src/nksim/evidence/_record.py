"""One registry study record, flattened to the fields the landscape reads.

The field paths are those of the ClinicalTrials.gov API v2 ``Study`` schema
(evidence.md §1.3, checked against the real record NCT02513394). Pitfalls handled
here (evidence.md §1.2): ``phases`` is multi-valued; ``"NA"`` is a value while a
missing ``phases`` field is a different thing (``MISSING``); dates have year, month
or day precision; ``startDateStruct.type`` may be absent; country names vary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nksim.errors import UserError

from ._countries import normalize_country
from ._dates import PartialDate, parse_partial_date

PHASES: tuple[str, ...] = ("EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4", "NA")
MISSING = "MISSING"
#: Largest enrollment count read as a number (larger ones, and negative ones, are read as
#: missing: no trial enrols billions, and such values overflow 64-bit tables).
MAX_ENROLLMENT = 2**31 - 1


@dataclass(frozen=True)
class Intervention:
    """An intervention as registered: type, name, description, other names."""

    type: str
    name: str
    description: str = ""
    other_names: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Name, other names and description as one string."""
        return " ; ".join(p for p in (self.name, *self.other_names, self.description) if p)


@dataclass(frozen=True)
class StudyRecord:
    """The parts of a registry study record that nksim reads.

    ``phases`` holds the registry's values in registry order; ``phase_buckets``
    is what the landscape counts: the phases, or ``("MISSING",)`` when the record
    has no ``phases`` field (or an empty one).
    """

    nct_id: str
    brief_title: str = ""
    official_title: str = ""
    acronym: str = ""
    brief_summary: str = ""
    detailed_description: str = ""
    conditions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    study_type: str | None = None
    phases: tuple[str, ...] = ()
    phases_field_present: bool = False
    overall_status: str | None = None
    last_known_status: str | None = None
    start_date: PartialDate | None = None
    start_date_type: str | None = None
    countries: tuple[str, ...] = ()
    lead_sponsor: str = ""
    sponsor_class: str | None = None
    enrollment: int | None = None
    has_results: bool | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def phase_buckets(self) -> tuple[str, ...]:
        """The phase buckets this study counts in (each of its phases, or MISSING)."""
        return self.phases if self.phases else (MISSING,)

    @property
    def start_year(self) -> int | None:
        return self.start_date.year if self.start_date else None

    @property
    def titles(self) -> str:
        return " ; ".join(p for p in (self.brief_title, self.official_title, self.acronym) if p)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v.strip() for v in value if isinstance(v, str) and v.strip())


def _enum(value: Any) -> str | None:
    return value.strip().upper() if isinstance(value, str) and value.strip() else None


def nct_id_of(raw: Any) -> str | None:
    """The NCT ID of a raw study record, or ``None`` when it has none."""
    value = _get(raw, "protocolSection", "identificationModule", "nctId")
    return value.strip() if isinstance(value, str) and value.strip() else None


_NCT_ID = re.compile(r"NCT[0-9]{8}")  # ASCII digits only (\d matches other scripts)
_MODULES = ("identificationModule", "statusModule", "sponsorCollaboratorsModule",
            "designModule", "armsInterventionsModule", "conditionsModule",
            "descriptionModule", "contactsLocationsModule")


def record_problem(raw: Any) -> str | None:
    """Why a raw record cannot be stored (wrong shape), or ``None`` when it can.

    Checked on arrival so that one malformed record is kept aside with its reason
    instead of breaking every later report.
    """
    if not isinstance(raw, Mapping):
        return f"not a JSON object ({type(raw).__name__})"
    ps = raw.get("protocolSection")
    if not isinstance(ps, Mapping):
        return "protocolSection is missing or not an object"
    for name in _MODULES:
        if name in ps and not isinstance(ps[name], Mapping):
            return f"protocolSection.{name} is not an object"
    nct = nct_id_of(raw)
    if nct is None:
        return "no protocolSection.identificationModule.nctId"
    if not _NCT_ID.fullmatch(nct):
        return f"nctId {ascii(nct[:40])} is not of the form NCT + 8 digits"
    problem = _phases_problem(_get(ps, "designModule", "phases"))
    if problem is not None:
        return problem
    try:
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return (f"invalid text: an unpaired UTF-16 surrogate "
                f"({ascii(exc.object[exc.start:exc.end])}) cannot be stored as UTF-8")
    except (TypeError, ValueError, RecursionError) as exc:
        return f"not storable as JSON ({type(exc).__name__})"
    try:
        parse_study(raw)
    except Exception as exc:  # noqa: BLE001 - any failure to read it is the reason
        return f"unreadable record ({type(exc).__name__}: {str(exc)[:120]})"
    return None


def _phases_problem(value: Any) -> str | None:
    """Why ``designModule.phases`` is malformed (None: absent, or a list of known phases)."""
    if value is None:
        return None
    if not isinstance(value, list):
        return f"designModule.phases is a JSON {type(value).__name__}, not a list"
    for item in value:
        if not isinstance(item, str) or item.strip().upper() not in PHASES:
            return (f"designModule.phases holds {ascii(item)[:40]}, not one of "
                    f"{', '.join(PHASES)}")
    return None


def parse_study(raw: Mapping[str, Any]) -> StudyRecord:
    """Flatten one API v2 study record (``{"protocolSection": ...}``) to a :class:`StudyRecord`.

    Raises
    ------
    UserError
        If the record is not an object or has no ``nctId``.
    """
    nct_id = nct_id_of(raw)
    if nct_id is None:
        raise UserError("study record has no protocolSection.identificationModule.nctId")
    ps = raw.get("protocolSection") or {}
    ident = ps.get("identificationModule") or {}
    status = ps.get("statusModule") or {}
    sponsor = ps.get("sponsorCollaboratorsModule") or {}
    design = ps.get("designModule") or {}
    arms = ps.get("armsInterventionsModule") or {}
    conds = ps.get("conditionsModule") or {}
    desc = ps.get("descriptionModule") or {}
    locs = _get(ps, "contactsLocationsModule", "locations")

    phases_value = design.get("phases") if isinstance(design, Mapping) else None
    if not isinstance(phases_value, list):  # a string is not a list of its letters
        phases_value = None
    phases = tuple(dict.fromkeys(p for p in (_enum(v) for v in (phases_value or [])) if p))

    interventions = []
    for item in arms.get("interventions") or []:
        if not isinstance(item, Mapping):
            continue
        interventions.append(
            Intervention(
                type=_enum(item.get("type")) or "",
                name=_str(item.get("name")),
                description=_str(item.get("description")),
                other_names=_strs(item.get("otherNames")),
            )
        )

    countries: list[str] = []
    for loc in locs or []:
        country = normalize_country(loc.get("country")) if isinstance(loc, Mapping) else None
        if country and country not in countries:
            countries.append(country)

    start = status.get("startDateStruct") or {}
    enrollment = _get(design, "enrollmentInfo", "count")
    return StudyRecord(
        nct_id=nct_id,
        brief_title=_str(ident.get("briefTitle")),
        official_title=_str(ident.get("officialTitle")),
        acronym=_str(ident.get("acronym")),
        brief_summary=_str(desc.get("briefSummary")),
        detailed_description=_str(desc.get("detailedDescription")),
        conditions=_strs(conds.get("conditions")),
        keywords=_strs(conds.get("keywords")),
        interventions=tuple(interventions),
        study_type=_enum(design.get("studyType")),
        phases=phases,
        phases_field_present=isinstance(phases_value, list) and bool(phases_value),
        overall_status=_enum(status.get("overallStatus")),
        last_known_status=_enum(status.get("lastKnownStatus")),
        start_date=parse_partial_date(start.get("date")),
        start_date_type=_enum(start.get("type")),
        countries=tuple(countries),
        lead_sponsor=_str(_get(sponsor, "leadSponsor", "name")),
        sponsor_class=_enum(_get(sponsor, "leadSponsor", "class")),
        enrollment=enrollment if isinstance(enrollment, int) and not isinstance(
            enrollment, bool) and 0 <= enrollment <= MAX_ENROLLMENT else None,
        has_results=raw.get("hasResults") if isinstance(raw.get("hasResults"), bool) else None,
        raw=raw,
    )
