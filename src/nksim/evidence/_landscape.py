"""The NK-cell-therapy trial landscape: classify records, count them, answer questions.

Counting rules (issue #4; evidence.md §1.2):

* a multi-phase trial counts in each of its phases, so phase counts overlap;
  ``NA`` (not applicable) and ``MISSING`` (no phase field) are separate buckets;
* start year comes from the first four characters of the start date, split by
  ``startDateStruct.type`` into actual, estimated and "type not stated";
* a trial counts once in each distinct (normalised) country of its sites;
* product types and indications may overlap too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nksim.errors import UserError

from ._classify import INDICATIONS, PRODUCT_TYPES, Classification, classify_study
from ._record import MISSING, parse_study
from ._rules import nk_rules

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._snapshot import Snapshot
    from ._store import FetchInfo, StudyStore

PHASE_BUCKETS: tuple[str, ...] = (
    "EARLY_PHASE1",
    "PHASE1",
    "PHASE2",
    "PHASE3",
    "PHASE4",
    "NA",
    MISSING,
)
ONGOING = ("RECRUITING", "ACTIVE_NOT_RECRUITING", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING")

ARTICLE_CLAIM = (
    "ClinicalTrials.gov: by the end of 2024, 784 NK-cell-therapy trials worldwide "
    "(the Chinese original says 正在进行, 'under way'), none yet in phase III or IV "
    "(source article, claim E1; not found in any checked source)"
)
PUBLISHED_2022 = {
    "source": "Lamers-Kok et al., J Hematol Oncol 2022, doi:10.1186/s13045-022-01382-5, Fig. 1",
    "cutoff": "December 2021",
    "method": (
        "ClinicalTrials.gov search for 'NK cell', 'NK cell therapy' and 'Natural killer cells' "
        "plus GlobalData; trials not giving NK cells or giving mixed immune-cell products excluded"
    ),
    "n_trials": 420,
    "by_phase": {
        "Phase I": 165,
        "Phase I/II": 144,
        "Phase II": 92,
        "Phase II/III": 2,
        "Phase III": 3,
        "Phase IV": 3,
        "unknown": 11,
    },
}
APPROVAL_NOTE = (
    "The registry does not record marketing approvals. The source article (claim E2) says "
    "no NK or CAR-NK therapy is approved for commercial use anywhere; nksim has not checked "
    "this against regulators' databases."
)


@dataclass(frozen=True)
class DataSource:
    """Where the records came from, and when."""

    kind: str  # "api", "snapshot" or "records"
    query: Mapping[str, Any] | None = None
    fetched_at: str | None = None
    imported_at: str | None = None
    data_timestamp: str | None = None
    path: str | None = None
    fetch_id: int | None = None
    complete: bool = True
    total_count: int | None = None
    constructed: bool = False
    note: str | None = None

    @property
    def data_date(self) -> str | None:
        """The registry's data timestamp if known, else the fetch date."""
        return self.data_timestamp or self.fetched_at

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["query"] = dict(self.query) if self.query is not None else None
        d["data_date"] = self.data_date
        return d


#: The notice every landscape output carries.
RESEARCH_NOTICE = ("Research use only: counts of registry records classified by nksim's "
                   "rules; not medical advice, and not a judgement of any trial or product.")

#: Readable labels for the registry's enumerations and nksim's classification labels.
LABELS: dict[str, dict[str, str]] = {
    "phase": {"EARLY_PHASE1": "early phase 1", "PHASE1": "phase 1", "PHASE2": "phase 2",
              "PHASE3": "phase 3", "PHASE4": "phase 4", "NA": "not applicable",
              "MISSING": "no phase given"},
    "status": {"RECRUITING": "recruiting", "NOT_YET_RECRUITING": "not yet recruiting",
               "ACTIVE_NOT_RECRUITING": "active, not recruiting",
               "ENROLLING_BY_INVITATION": "enrolling by invitation", "COMPLETED": "completed",
               "TERMINATED": "terminated", "SUSPENDED": "suspended", "WITHDRAWN": "withdrawn",
               "UNKNOWN": "unknown (not verified for 2 years)",
               "AVAILABLE": "available (expanded access)", "NO_LONGER_AVAILABLE":
               "no longer available", "TEMPORARILY_NOT_AVAILABLE": "temporarily not available",
               "APPROVED_FOR_MARKETING": "approved for marketing", "WITHHELD": "withheld"},
    "sponsor_class": {"OTHER": "academic or other", "INDUSTRY": "industry", "NIH": "NIH",
                      "FED": "US federal", "OTHER_GOV": "other government",
                      "NETWORK": "network", "INDIV": "individual", "UNKNOWN": "unknown"},
    "product_type": {"autologous": "autologous NK", "allogeneic_peripheral_blood":
                     "donor blood NK", "allogeneic_cord_blood": "cord-blood NK",
                     "allogeneic_ipsc": "iPSC-derived NK", "nk92_cell_line": "NK-92 cell line",
                     "allogeneic_hspc_derived": "stem-cell-derived NK",
                     "allogeneic_unspecified_source": "donor NK, source not stated",
                     "source_not_stated": "source not stated",
                     "memory_like": "memory-like NK", "car_nk": "CAR-NK",
                     "engineered_no_car": "engineered NK (no CAR)",
                     "with_antibody_or_engager": "given with an antibody or engager"},
    "indication": {"haematological": "blood cancers", "solid_tumour": "solid tumours",
                   "cancer_unspecified": "cancer (type not stated)",
                   "autoimmune": "autoimmune disease", "infection": "infection",
                   "ageing": "ageing", "other": "other"},
}


#: Chinese labels of the registry's phases and statuses (the claim checker's Chinese output).
LABELS_ZH: dict[str, dict[str, str]] = {
    "phase": {"EARLY_PHASE1": "早期I期", "PHASE1": "I期", "PHASE2": "II期", "PHASE3": "III期",
              "PHASE4": "IV期", "NA": "不适用", "MISSING": "未注明分期"},
    "status": {"RECRUITING": "招募中", "NOT_YET_RECRUITING": "尚未招募",
               "ACTIVE_NOT_RECRUITING": "进行中（不再招募）", "ENROLLING_BY_INVITATION": "受邀入组",
               "COMPLETED": "已完成", "TERMINATED": "已终止", "SUSPENDED": "已暂停",
               "WITHDRAWN": "已撤回", "UNKNOWN": "状态未知",
               "APPROVED_FOR_MARKETING": "已批准上市"},
}


def label(kind: str, value: str, lang: str = "en") -> str:
    """The readable label of a registry or classification value: from :data:`LABELS`; a
    missing value is "not stated"; another enum name (``OTHER_GOV``) in words; anything
    else (a country's name) as it is."""
    if lang == "zh" and value in LABELS_ZH.get(kind, {}):
        return LABELS_ZH[kind][value]
    if value in LABELS.get(kind, {}):
        return LABELS[kind][value]
    if value == MISSING:
        return "未注明" if lang == "zh" else "not stated"
    return value.replace("_", " ").lower() if value.isupper() else value


@dataclass
class Landscape:
    """Classified registry records and their counts."""

    source: DataSource
    classifications: list[Classification]
    duplicates_dropped: int = 0
    #: stored records skipped because they fail today's arrival check (older stores)
    records_skipped: int = 0
    _dict: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def counted(self) -> list[Classification]:
        return [c for c in self.classifications if c.is_nk_therapy]

    @property
    def excluded(self) -> list[Classification]:
        return [c for c in self.classifications if not c.is_nk_therapy]

    # ------------------------------------------------------------ counts
    def by_phase(self) -> dict[str, int]:
        counts = dict.fromkeys(PHASE_BUCKETS, 0)
        for c in self.counted:
            assert c.record is not None
            # an unknown value counts as MISSING, and a study at most once in each bucket
            for bucket in dict.fromkeys(b if b in counts else MISSING
                                        for b in c.record.phase_buckets):
                counts[bucket] += 1
        return counts

    def phase3_or_4(self) -> list[str]:
        return [
            c.nct_id
            for c in self.counted
            if c.record is not None and {"PHASE3", "PHASE4"} & set(c.record.phases)
        ]

    def by_status(self) -> dict[str, int]:
        return _sorted_counts(c.record.overall_status or MISSING for c in self.counted if c.record)

    def by_last_known_status(self) -> dict[str, int]:
        """For trials whose status is UNKNOWN: their last known status."""
        return _sorted_counts(
            c.record.last_known_status or MISSING
            for c in self.counted
            if c.record and c.record.overall_status == "UNKNOWN"
        )

    def by_start_year(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for c in self.counted:
            rec = c.record
            assert rec is not None
            year = str(rec.start_year) if rec.start_year else MISSING
            kind = {"ACTUAL": "actual", "ESTIMATED": "estimated"}.get(
                rec.start_date_type or "", "type_not_stated"
            )
            row = out.setdefault(
                year, {"actual": 0, "estimated": 0, "type_not_stated": 0, "total": 0}
            )
            row[kind] += 1
            row["total"] += 1
        return dict(sorted(out.items(), key=lambda kv: (kv[0] == MISSING, kv[0])))

    def by_country(self) -> dict[str, int]:
        def countries() -> Iterable[str]:
            for c in self.counted:
                assert c.record is not None
                yield from c.record.countries or (MISSING,)

        return _sorted_counts(countries())

    def by_sponsor_class(self) -> dict[str, int]:
        return _sorted_counts(c.record.sponsor_class or MISSING for c in self.counted if c.record)

    def by_product_type(self) -> dict[str, int]:
        counts = Counter(t for c in self.counted for t in c.product_types)
        return {t: counts.get(t, 0) for t in PRODUCT_TYPES}

    def by_indication(self) -> dict[str, int]:
        counts = Counter(i for c in self.counted for i in c.indications)
        return {i: counts.get(i, 0) for i in INDICATIONS}

    def by_exclusion_rule(self) -> dict[str, int]:
        return _sorted_counts(c.exclusion_rule or MISSING for c in self.excluded)

    # ------------------------------------------------------------ answers
    def started_by(self, year: int) -> dict[str, int]:
        out = {"actual": 0, "estimated": 0, "type_not_stated": 0, "no_start_date": 0, "total": 0}
        for c in self.counted:
            rec = c.record
            assert rec is not None
            if rec.start_year is None:
                out["no_start_date"] += 1
                continue
            if rec.start_year <= year:
                kind = {"ACTUAL": "actual", "ESTIMATED": "estimated"}.get(
                    rec.start_date_type or "", "type_not_stated"
                )
                out[kind] += 1
                out["total"] += 1
        return out

    def approval_signals(self) -> dict[str, Any]:
        approved_status = [
            c.nct_id
            for c in self.counted
            if c.record and c.record.overall_status == "APPROVED_FOR_MARKETING"
        ]
        phase4 = [c.nct_id for c in self.counted if c.record and "PHASE4" in c.record.phases]
        return {
            "approved_for_marketing_status": approved_status,
            "phase4": phase4,
            "note": APPROVAL_NOTE,
        }

    def article_claim_assessment(self) -> dict[str, Any]:
        """What these data say about the article's '784 trials, none in phase III/IV'."""
        n = len(self.counted)
        p34 = self.phase3_or_4()
        by_2024 = self.started_by(2024)
        ongoing = sum(1 for c in self.counted if c.record and c.record.overall_status in ONGOING)
        src = self.source
        lines: list[str] = []
        if src.constructed:
            lines.append(
                "CONSTRUCTED DEMO DATA: these numbers only illustrate the method and say "
                "nothing about the real registry."
            )
        where = _describe_source(src)
        lines.append(
            f"Data: {where}. Of its {len(self.classifications)} records, {n} count as "
            f"NK-cell-therapy trials under nksim's inclusion rules (rules {nk_rules().version}). "
            f"{by_2024['total']} started by the end of 2024 ({by_2024['actual']} actual, "
            f"{by_2024['estimated']} estimated and {by_2024['type_not_stated']} "
            "without a date type); "
            + (f"{ongoing} were under way at the data date (recruiting, active or not yet "
               "recruiting)." if src.data_date else
               f"{ongoing} are listed as under way (recruiting, active or not yet recruiting); "
               "the data carry no data date, so 'under way' means only what the records say.")
        )
        if not src.complete:
            lines.append(
                "The fetch is incomplete"
                + (
                    f" ({len(self.classifications)} of {src.total_count} records)"
                    if src.total_count
                    else ""
                )
                + ", so every count here is a lower bound."
            )
        if src.constructed:
            lines.append("A comparison with the article's 784 is meaningless for constructed data.")
        else:
            diff = n - 784
            lines.append(
                f"The article's 784 is {abs(diff)} {'more' if diff < 0 else 'fewer'} than the "
                f"{n} counted here"
                if diff
                else "The count here equals the article's 784"
            )
            lines[-1] += (
                "; counts depend on the query, the date and the inclusion rules (for example "
                "whether CIK or mixed immune-cell trials count), so neither figure is 'the' number."
            )
        if src.constructed:
            lines.append(
                f"Constructed records in phase III or IV: {len(p34)}; this only illustrates "
                "the check."
            )
        elif p34:
            lines.append(
                f"Counted trials registered in phase III or IV: {len(p34)} "
                f"({', '.join(p34[:10])}{', ...' if len(p34) > 10 else ''}); these data do not "
                "support 'none in phase III/IV'. Check each by hand: a registration can be "
                "mislabelled, and phase 4 is normally reserved for approved products."
            )
        else:
            lines.append(
                "No counted trial is registered in phase III or IV: these data are consistent "
                "with 'none in phase III/IV'."
            )
        lines.append(
            "Context: a 2022 count (J Hematol Oncol, cut-off December 2021) found 420 NK-cell "
            "trials, 3 of them in phase III and 3 in phase IV. The article's 784 was not found "
            "in any checked source."
        )
        return {
            "claim": ARTICLE_CLAIM,
            "nk_trials_counted": n,
            "records_examined": len(self.classifications),
            "started_by_end_of_2024": by_2024,
            "ongoing_now": ongoing,
            "phase3_or_4": p34,
            "published_2022": PUBLISHED_2022,
            "text": " ".join(lines),
        }

    # ------------------------------------------------------------ outputs
    def to_dict(self) -> dict[str, Any]:
        """The landscape as one JSON-ready object (``nksim landscape report --json``)."""
        if self._dict is not None:
            return self._dict
        p34 = self.phase3_or_4()
        approval = self.approval_signals()
        self._dict = {
            "data_source": self.source.to_dict(),
            "constructed_data": self.source.constructed,
            "classification_rules_version": nk_rules().version,
            "records_examined": len(self.classifications),
            "duplicates_dropped": self.duplicates_dropped,
            "n_nk_trials": len(self.counted),
            "nk_trials": [c.nct_id for c in self.counted],
            "excluded": [
                {"nct_id": c.nct_id, "reason": c.exclusion_reason, "rule": c.exclusion_rule}
                for c in self.excluded
            ],
            "by_phase": self.by_phase(),
            "phase3_or_4": p34,
            "by_status": self.by_status(),
            "by_last_known_status": self.by_last_known_status(),
            "by_start_year": self.by_start_year(),
            "by_country": self.by_country(),
            "by_sponsor_class": self.by_sponsor_class(),
            "by_product_type": self.by_product_type(),
            "by_indication": self.by_indication(),
            "by_exclusion_rule": self.by_exclusion_rule(),
            "car_nk_trials": [c.nct_id for c in self.counted if c.is_car_nk],
            "needs_review": [
                {"nct_id": c.nct_id, "note": c.review} for c in self.classifications if c.review
            ],
            "answers": {
                "how_many_nk_trials": len(self.counted),
                "how_many_in_phase3_or_4": len(p34),
                "any_approved": (
                    f"{len(approval['approved_for_marketing_status'])} counted record(s) carry the "
                    f"status 'approved for marketing' and {len(approval['phase4'])} are phase 4. "
                    + APPROVAL_NOTE
                ),
                "data_date": self.source.data_date,
                "query": dict(self.source.query) if self.source.query is not None else None,
            },
            "approval_signals": approval,
            "article_claim": self.article_claim_assessment(),
            "research_use_only": RESEARCH_NOTICE,
        }
        return self._dict

    def trials_table(self) -> pd.DataFrame:
        """One row per classified record, with its classification and exclusion reason."""
        import pandas as pd

        rows = []
        for c in self.classifications:
            rec = c.record
            assert rec is not None
            rows.append(
                {
                    "nct_id": c.nct_id,
                    "counted": c.is_nk_therapy,
                    "exclusion_rule": c.exclusion_rule or "",
                    "exclusion_reason": c.exclusion_reason or "",
                    "review": c.review or "",
                    "brief_title": rec.brief_title,
                    "study_type": rec.study_type or "",
                    "phases": "|".join(rec.phases) if rec.phases else MISSING,
                    "overall_status": rec.overall_status or MISSING,
                    "last_known_status": rec.last_known_status or "",
                    "start_date": rec.start_date.raw if rec.start_date else "",
                    "start_year": rec.start_year,
                    "start_date_type": rec.start_date_type or "",
                    "countries": "|".join(rec.countries),
                    "lead_sponsor": rec.lead_sponsor,
                    "sponsor_class": rec.sponsor_class or "",
                    "enrollment": rec.enrollment,
                    "product_types": "|".join(c.product_types),
                    "car_nk": c.is_car_nk,
                    "product_codes": "|".join(c.product_codes),
                    "indications": "|".join(c.indications),
                    "lookalikes": "|".join(c.lookalikes),
                    "evidence": " ; ".join(c.evidence),
                }
            )
        df = pd.DataFrame(rows)
        if not df.empty:
            df["start_year"] = df["start_year"].astype("Int64")
            df["enrollment"] = df["enrollment"].astype("Int64")
        return df

    def summary_text(self) -> str:
        """A short plain-text report for the terminal."""
        d = self.to_dict()
        out = []
        if self.source.constructed:
            out.append("*** CONSTRUCTED DEMO DATA: not real registry counts ***")
        out.append(f"Data: {_describe_source(self.source)}")
        out.append(
            f"NK-cell-therapy trials counted: {d['n_nk_trials']} of {d['records_examined']} "
            "records "
            f"({len(d['excluded'])} excluded)"
        )
        # the readable labels (as in the HTML report's tables), not the registry's enum names
        def counts(kind: str, items: Mapping[str, int]) -> str:
            return "; ".join(f"{label(kind, k)} {v}" for k, v in items.items() if v)

        out.append("By phase (a multi-phase trial counts in each phase):")
        out.append("  " + "; ".join(f"{label('phase', k)} {v}" for k, v in d["by_phase"].items()))
        for phase in ("PHASE3", "PHASE4"):
            ids = [c.nct_id for c in self.counted if c.record and phase in c.record.phases]
            out.append(f"In {label('phase', phase)}: {len(ids)}"
                       + (f" ({', '.join(ids)})" if ids else ""))
        out.append("By status: " + counts("status", d["by_status"]))
        top = list(d["by_country"].items())[:8]
        out.append("Top countries: " + ", ".join(f"{label('country', k)} {v}" for k, v in top))
        out.append("Product types: " + counts("product_type", d["by_product_type"]))
        out.append("Indications: " + counts("indication", d["by_indication"]))
        out.append("Any approved? " + d["answers"]["any_approved"])
        out.append("About the article's claim: " + d["article_claim"]["text"])
        out.append(RESEARCH_NOTICE)
        return "\n".join(out)


def _sorted_counts(values: Iterable[str]) -> dict[str, int]:
    counts = Counter(values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _describe_source(src: DataSource) -> str:
    if src.kind == "api":
        head = f"registry fetch #{src.fetch_id}" if src.fetch_id else "a registry fetch"
    elif src.kind == "snapshot":
        head = f"snapshot {src.path}" if src.path else "a snapshot"
        if src.fetch_id:
            head += f" (imported as fetch #{src.fetch_id} on {src.imported_at})"
    else:
        head = "the given records"
    date = f"data date {src.data_date}" if src.data_date else "data date not recorded"
    if src.query:
        query = "query " + "; ".join(f"{k}={v}" for k, v in src.query.items())
    else:
        query = "query not recorded"
    return f"{head} [{date}; {query}]"


def build_landscape(
    studies: Iterable[Mapping[str, Any]],
    *,
    source: DataSource | None = None,
) -> Landscape:
    """Classify raw study records and return their landscape.

    Duplicate NCT IDs are dropped (first kept). Records without an NCT ID raise
    :class:`~nksim.errors.UserError`.
    """
    seen: set[str] = set()
    classifications = []
    dropped = 0
    for raw in studies:
        rec = parse_study(raw)
        if rec.nct_id in seen:
            dropped += 1
            continue
        seen.add(rec.nct_id)
        classifications.append(classify_study(rec))
    return Landscape(
        source=source or DataSource(kind="records"),
        classifications=classifications,
        duplicates_dropped=dropped,
    )


def landscape_from_snapshot(snapshot: Snapshot) -> Landscape:
    """The landscape of a snapshot read by :func:`load_snapshot`."""
    land = build_landscape(
        snapshot.studies,
        source=DataSource(
            kind="snapshot",
            query=snapshot.query,
            fetched_at=snapshot.fetched_at,
            data_timestamp=snapshot.data_timestamp,
            path=str(snapshot.path) if snapshot.path else None,
            constructed=snapshot.constructed,
            note=_note(snapshot.meta),
        ),
    )
    land.duplicates_dropped += snapshot.duplicates
    return land


def landscape_from_store(store: StudyStore, fetch_id: int | None = None) -> Landscape:
    """The landscape of one stored fetch (default: the latest complete one).

    Raises
    ------
    UserError
        If the store holds no records.
    """
    info: FetchInfo | None = (
        store.get_fetch(fetch_id) if fetch_id is not None else store.latest_fetch()
    )
    if info is None or info.n_studies == 0:
        raise UserError(
            f"the local store {store.path} holds no study records: run `nksim landscape fetch` "
            "or pass --snapshot FILE"
        )
    from_api = info.source == "api"
    studies, skipped = store.load_valid_studies(info.fetch_id)
    if not studies:
        raise UserError(
            f"fetch #{info.fetch_id} in {store.path} holds no readable study records "
            f"({skipped} malformed, written by an older nksim): fetch or import again"
        )
    land = build_landscape(
        studies,
        source=DataSource(
            kind="api" if from_api else "snapshot",
            query=info.query,
            fetched_at=(info.finished_at or info.started_at) if from_api else None,
            imported_at=None if from_api else info.started_at,
            data_timestamp=info.data_timestamp,
            path=info.snapshot_path,
            fetch_id=info.fetch_id,
            complete=info.complete,
            total_count=info.total_count,
            constructed=info.constructed,
            note=info.note or info.error,
        ),
    )
    land.records_skipped = skipped
    return land


def _note(meta: Mapping[str, Any]) -> str | None:
    for key in ("_comment", "_note", "comment", "note"):
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value
    return None


__all__ = ["DataSource", "Landscape", "PHASE_BUCKETS", "build_landscape"]
