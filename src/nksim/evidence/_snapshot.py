"""Reading snapshot files of registry study records.

Accepted shapes: one API page (``{"studies": [...], ...}``), a JSON list of study
records, or JSON lines (one study record, or one page, per line). Keys that start with
``_`` (``_comment``, ``_note``, ``_meta``) carry metadata; a snapshot whose metadata
says it is constructed (``"_meta": {"constructed": true}``, or a ``_comment``/``_note``
containing the word "constructed") is reported as constructed, never as real counts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from nksim.errors import UserError

from ._record import nct_id_of

DEMO_SNAPSHOT = "demo_snapshot.json"


@dataclass
class Snapshot:
    """Study records read from a file, with what the file says about them."""

    studies: list[dict[str, Any]]
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    duplicates: int = 0

    @property
    def constructed(self) -> bool:
        """True when the file says its records are constructed (not real registry data)."""
        if self.meta.get("constructed") is True:
            return True
        notes = " ".join(
            str(self.meta.get(k, "")) for k in ("_comment", "_note", "comment", "note")
        )
        if "constructed" in notes.lower():
            return True
        return any(s.get("_constructed") is True for s in self.studies)

    @property
    def query(self) -> dict[str, Any] | None:
        q = self.meta.get("query")
        return q if isinstance(q, dict) else None

    @property
    def fetched_at(self) -> str | None:
        value = self.meta.get("fetched_at")
        return value if isinstance(value, str) else None

    @property
    def data_timestamp(self) -> str | None:
        value = self.meta.get("data_timestamp")
        return value if isinstance(value, str) else None


def demo_snapshot_path() -> Path:
    """Path of the small constructed demo snapshot shipped with nksim (not real data)."""
    return Path(str(resources.files("nksim.evidence").joinpath("data", DEMO_SNAPSHOT)))


def _meta_of(obj: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    inner = obj.get("_meta")
    if isinstance(inner, dict):
        meta.update(inner)
    for key, value in obj.items():
        if key.startswith("_") and key != "_meta":
            meta[key] = value
    return meta


def _parse_text(text: str, path: Path) -> tuple[list[Any], dict[str, Any]]:
    stripped = text.strip()
    if not stripped:
        raise UserError(f"{path}: the file is empty")
    try:
        doc = json.loads(text)
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None
    except json.JSONDecodeError as whole:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) < 2 or not _is_json(lines[0][1]):
            raise UserError(
                f"{path}: not valid JSON (line {whole.lineno}, column {whole.colno}: {whole.msg})"
            ) from None
        return _parse_lines(lines, path)
    if isinstance(doc, dict) and "studies" in doc:
        if not isinstance(doc["studies"], list):
            raise UserError(f"{path}: 'studies' must be a list")
        return doc["studies"], _meta_of(doc)
    if isinstance(doc, dict) and "protocolSection" in doc:
        return [doc], {}
    if isinstance(doc, list):
        return doc, {}
    raise UserError(
        f'{path}: expected a page {{"studies": [...]}}, a list of study records or JSON lines'
    )


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return False
    return True


def _parse_lines(lines: list[tuple[int, str]], path: Path) -> tuple[list[Any], dict[str, Any]]:
    items: list[Any] = []
    meta: dict[str, Any] = {}
    for lineno, line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{path}: not valid JSON lines (line {lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        except RecursionError:
            raise UserError(f"{path}: not valid JSON lines (line {lineno}: nested too "
                            "deeply)") from None
        if isinstance(obj, dict) and "studies" in obj:
            meta.update(_meta_of(obj))
            studies = obj["studies"]
            items.extend(studies if isinstance(studies, list) else [studies])
        elif isinstance(obj, dict) and obj and all(k.startswith("_") for k in obj):
            meta.update(_meta_of(obj))
        else:
            items.append(obj)
    return items, meta


#: the largest snapshot file read (every NK-cell trial of ClinicalTrials.gov is tens of MB)
MAX_SNAPSHOT_BYTES = 2**30


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Read a snapshot file.

    Raises
    ------
    UserError
        One line naming the file: missing, unreadable, not JSON, not study records,
        or a record without an NCT ID.
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such snapshot file")
    if p.is_dir():
        raise UserError(f"{p}: is a folder, not a snapshot file")
    try:
        with open(p, "rb") as fh:  # at most the limit: /dev/zero would never end
            data = fh.read(MAX_SNAPSHOT_BYTES + 1)
        if len(data) > MAX_SNAPSHOT_BYTES:
            raise UserError(f"{p}: larger than {MAX_SNAPSHOT_BYTES // 2**30} GB; "
                            "not a snapshot of NK-cell trials")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{p}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror})") from None
    items, meta = _parse_text(text, p)
    studies: list[dict[str, Any]] = []
    seen: set[str] = set()
    duplicates = 0
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise UserError(f"{p}: study #{i} is not a JSON object")
        nct = nct_id_of(item)
        if nct is None:
            raise UserError(f"{p}: study #{i} has no protocolSection.identificationModule.nctId")
        if nct in seen:
            duplicates += 1
            continue
        seen.add(nct)
        studies.append(item)
    if not studies:
        raise UserError(f"{p}: holds no study records")
    return Snapshot(studies=studies, path=p, meta=meta, duplicates=duplicates)
