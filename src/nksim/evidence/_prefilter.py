"""Literal prefilters for the claim checker's regular expressions (linear-time scanning).

Python's ``re`` tries every pattern at every position, so 150 patterns over 1 MB take
seconds. Like RE2's prefilter, :func:`required_literals` reads a compiled pattern's parse
tree and returns a set of literal strings one of which every match must contain (or
``None`` when no such set exists); the checker then runs the pattern only on the stretches
of text around occurrences of those literals (:func:`candidate_regions`). Literals are
lower-cased and looked up in a lower-cased copy of the text, so the filter is exact for
case-insensitive patterns whose matches are shorter than ``margin / 2`` characters: it can
only skip text where the pattern cannot match.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

try:  # Python >= 3.11
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

_CJK = re.compile(r"[\u3400-\u9fff]")
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT} | (
    {_c.POSSESSIVE_REPEAT} if hasattr(_c, "POSSESSIVE_REPEAT") else set()
)
ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(65, 91)})


def lowered(text: str) -> str:
    """``text.lower()`` when that keeps every offset, else ASCII-only lower-casing."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(ASCII_LOWER)


def _good(lits: set[str] | None) -> bool:
    return bool(lits) and all(len(s) >= 2 or _CJK.search(s) for s in lits)  # type: ignore[union-attr]


def _score(lits: set[str]) -> tuple[int, int]:
    return (min(len(s) for s in lits), -len(lits))


def _req(items: list[tuple[object, object]]) -> set[str] | None:
    cands: list[set[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            cands.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av).lower())  # type: ignore[arg-type]
            continue
        flush()
        sub: set[str] | None = None
        if op is _c.SUBPATTERN:
            sub = _req(list(av[-1].data))  # type: ignore[index]
        elif op is _c.BRANCH:
            alts = [_req(list(a.data)) for a in av[1]]  # type: ignore[index]
            if all(_good(a) for a in alts):
                sub = set().union(*alts)  # type: ignore[arg-type]
        elif op in _REPEATS:
            lo, _hi, body = av  # type: ignore[misc]
            if lo >= 1:
                sub = _req(list(body.data))
        if _good(sub):
            cands.append(sub)  # type: ignore[arg-type]
    flush()
    good = [c for c in cands if _good(c)]
    return max(good, key=_score) if good else None


def _first_chars(items: list[tuple[object, object]]) -> set[str] | None:
    """The characters a match of the parsed sequence ``items`` can start with, or None when
    they are not a short list (a class such as ``\\w``, a part that may be empty...)."""
    for op, av in items:
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero width: the next item decides
            continue
        if op is _c.LITERAL:
            return {chr(av)}  # type: ignore[arg-type]
        if op is _c.IN:
            out: set[str] = set()
            for o, v in av:  # type: ignore[attr-defined]
                if o is _c.LITERAL:
                    out.add(chr(v))
                elif o is _c.RANGE and v[1] - v[0] < 64:
                    out.update(chr(x) for x in range(v[0], v[1] + 1))
                else:
                    return None
            return out
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, body = av  # type: ignore[misc]
            if add_flags or del_flags:  # "(?i:a)": its first characters fold differently
                return None
            return _first_chars(list(body.data)) if body.getwidth()[0] > 0 else None
        if op is _c.BRANCH:
            out = set()
            for alt in av[1]:  # type: ignore[index]
                first = _first_chars(list(alt.data)) if alt.getwidth()[0] > 0 else None
                if first is None:
                    return None
                out |= first
            return out
        if op in _REPEATS:
            lo, _hi, body = av  # type: ignore[misc]
            return _first_chars(list(body.data)) if lo >= 1 else None
        return None
    return None


@cache
def first_char_guard(rx: re.Pattern[str], most: int = 60) -> re.Pattern[str]:
    """``rx`` with a look-ahead for the characters its matches can start with, e.g.
    ``(?=[cmn])(?:\\b(?:many|countless|numerous)...)``: the same matches, but ``re``
    skips the other positions of a text quickly instead of trying the pattern at each
    (twice as fast for such a pattern on a text where its literals are everywhere).
    ``rx`` itself when its first characters are not a short list. Made once per pattern
    (cached), and only for long texts: parsing and compiling every rule pattern again
    costs about 0.05 s."""
    try:
        tree = _p.parse(rx.pattern, rx.flags)
    except Exception:  # pragma: no cover - patterns are validated when loaded
        return rx
    first = _first_chars(list(tree.data)) if tree.getwidth()[0] > 0 else None
    if not first or len(first) > most:
        return rx
    chars = "".join(re.escape(ch) for ch in sorted(first))
    try:
        return re.compile(f"(?=[{chars}])(?:{rx.pattern})", rx.flags)
    except re.error:  # e.g. global inline flags, which must open the pattern
        return rx


@cache
def required_literals(pattern: str, flags: int) -> frozenset[str] | None:
    """Lower-cased literals one of which every match of ``pattern`` contains, or None."""
    try:
        tree = _p.parse(pattern, flags)
    except Exception:  # pragma: no cover - patterns are validated when loaded
        return None
    lits = _req(list(tree.data))
    return frozenset(lits) if _good(lits) else None


#: Characters searched on each side of a literal's occurrence (matches are assumed shorter
#: than half of it).
MARGIN = 400


def candidate_regions(
    lower: str,
    literals: frozenset[str],
    margin: int = MARGIN,
    cache: dict[str, Any] | None = None,
) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` stretches of ``lower`` within ``margin`` of a literal.

    ``cache`` (one dict per text) keeps each literal's hits, so a literal shared by
    several patterns is looked up once."""
    # a hit within margin/2 of the previous one adds nothing: every match holding it lies
    # inside the previous hit's stretch (matches are shorter than margin/2 characters)
    hits: list[int] = []
    step = margin // 2
    find = lower.find
    chars = None
    if cache is not None:
        chars = cache.get("\x00chars")  # the set of characters in the text, computed once
        if chars is None:
            chars = cache["\x00chars"] = set(lower)
    for lit in literals:
        found = cache.get(lit) if cache is not None else None
        if found is None and chars is not None and not chars.issuperset(lit):
            found = cache[lit] = []  # a character of it never occurs in the text
        if found is None:
            found = []
            pos = find(lit)
            while pos >= 0:
                found.append(pos)
                pos = find(lit, pos + step)
            if cache is not None:
                cache[lit] = found
        hits.extend(found)
    if not hits:
        return []
    hits.sort()
    n = len(lower)
    regions: list[tuple[int, int]] = []
    start, end = max(0, hits[0] - margin), min(n, hits[0] + margin)
    for h in hits[1:]:
        if h - margin <= end:
            end = min(n, h + margin)
        else:
            regions.append((start, end))
            start, end = max(0, h - margin), min(n, h + margin)
    regions.append((start, end))
    return regions
