"""Literal prefilters for the claim checker's regular expressions (linear-time scanning).

Python's ``re`` tries every pattern at every position, so 150 patterns over 1 MB take
seconds. Like RE2's prefilter, :func:`prefilter_plan` reads a pattern's parse tree: for each
top-level alternative, the sets of literal strings ("factors") of which every match holds
one literal each (``None`` when an alternative has none). The checker then runs the pattern
only on the stretches of text around occurrences of an alternative's first factor that
have a literal of each of its other factors close by (:func:`candidate_regions`). Literals
are lower-cased and looked up in a lower-cased copy of the text, so the filter is exact for
patterns whose matches are shorter than ``margin / 2`` characters: it can only skip text
where the pattern cannot match (``tests/evidence/test_claims_robust.py`` compares it with a
search of the whole text on long texts).
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


#: A digit class in a pattern's first characters (``\d``, as the guard writes it).
_DIGIT = "\\d"


def _first_chars(items: list[tuple[object, object]]) -> set[str] | None:
    """The characters a match of the parsed sequence ``items`` can start with (``\\d`` for
    any digit), or None when they are not a short list (a class such as ``\\w``, a
    sequence that may match nothing...)."""
    first, may_be_empty = _sequence_first(items)
    return None if may_be_empty else first


def _sequence_first(items) -> tuple[set[str] | None, bool]:
    """(first characters, whether the sequence may match the empty string): an item that
    may be empty (``a?``, ``(?:x|)``) adds its first characters to those of what follows."""
    out: set[str] = set()
    for op, av in items:
        if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):  # zero width: the next item decides
            continue
        first, may_be_empty = _item_first(op, av)
        if first is None:
            return None, False
        out |= first
        if not may_be_empty:
            return out, False
    return out, True


def _item_first(op, av) -> tuple[set[str] | None, bool]:
    if op is _c.LITERAL:
        return {chr(av)}, False
    if op is _c.IN:
        out: set[str] = set()
        for o, v in av:
            if o is _c.LITERAL:
                out.add(chr(v))
            elif o is _c.RANGE and v[1] - v[0] < 64:
                out.update(chr(x) for x in range(v[0], v[1] + 1))
            elif o is _c.CATEGORY and v is _c.CATEGORY_DIGIT:
                out.add(_DIGIT)
            else:  # a negated or large class
                return None, False
        return out, False
    if op is _c.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        if add_flags or del_flags:  # "(?i:a)": its first characters fold differently
            return None, False
        return _sequence_first(list(body.data))
    if op is _c.BRANCH:
        out, empty = set(), False
        for alt in av[1]:
            first, may_be_empty = _sequence_first(list(alt.data))
            if first is None:
                return None, False
            out |= first
            empty = empty or may_be_empty
        return out, empty
    if op in _REPEATS:
        lo, _hi, body = av
        first, may_be_empty = _sequence_first(list(body.data))
        return first, may_be_empty or lo == 0
    return None, False


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
    chars = "".join(ch if ch == _DIGIT else re.escape(ch) for ch in sorted(first))
    try:
        return re.compile(f"(?=[{chars}])(?:{rx.pattern})", rx.flags)
    except re.error:  # e.g. global inline flags, which must open the pattern
        return rx


@cache
def prefilter_plan(pattern: str, flags: int) -> tuple[tuple[frozenset[str], ...], ...] | None:
    """What every match of ``pattern`` must contain, per top-level alternative: for each,
    the sets of lower-cased literals (factors) of which a match holds one literal *each*,
    best first (longest shortest literal, then fewest literals). ``None`` when some
    alternative has no such set (the whole text must be scanned)."""
    try:
        tree = _p.parse(pattern, flags)
    except Exception:  # pragma: no cover - patterns are validated when loaded
        return None
    plan = []
    for alternative in _top_alternatives(list(tree.data)):
        factors = sorted(_factors(alternative), key=_score, reverse=True)
        if not factors:
            return None
        plan.append(tuple(frozenset(f) for f in factors))
    return tuple(plan)


def _top_alternatives(items: list[tuple[object, object]]) -> list[list[tuple[object, object]]]:
    """The alternatives of a pattern that is one alternation, once zero-width items (a
    first-character guard, ``\\b``) and a group around it are set aside; else the
    pattern itself."""
    body = [(op, av) for op, av in items if op not in (_c.AT, _c.ASSERT, _c.ASSERT_NOT)]
    if len(body) == 1 and body[0][0] is _c.SUBPATTERN:
        return _top_alternatives(list(body[0][1][-1].data))  # type: ignore[index]
    if len(body) == 1 and body[0][0] is _c.BRANCH:
        return [list(alt.data) for alt in body[0][1][1]]  # type: ignore[index]
    return [items]


def _factors(items: list[tuple[object, object]]) -> list[set[str]]:
    """The factors of a sequence: its literal runs and the factors of its groups and
    repeated parts (each of them must match); an alternation inside it is one factor, the
    union of its alternatives' best literals."""
    out: list[set[str]] = []
    run: list[str] = []
    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av).lower())  # type: ignore[arg-type]
            continue
        if run:
            out.append({"".join(run)})
            run.clear()
        if op is _c.SUBPATTERN:
            out += _factors(list(av[-1].data))  # type: ignore[index]
        elif op in _REPEATS and av[0] >= 1:  # type: ignore[index]
            out += _factors(list(av[2].data))  # type: ignore[index]
        elif op is _c.BRANCH:
            alts = [_req(list(a.data)) for a in av[1]]  # type: ignore[index]
            if all(_good(a) for a in alts):
                out.append(set().union(*alts))  # type: ignore[arg-type]
    if run:
        out.append({"".join(run)})
    return [f for f in out if _good(f)]


def _hits(lower: str, literals: frozenset[str], step: int,
          cache: dict[str, Any] | None) -> list[int]:
    """Sorted positions of ``literals`` in ``lower``, skipping any within ``step`` after
    the previous one of the same literal (``cache``: see :func:`candidate_regions`)."""
    hits: list[int] = []
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
    hits.sort()
    return hits


def _all_near(window: str, factors: list[frozenset[str]]) -> bool:
    return all(any(lit in window for lit in factor) for factor in factors)


def candidate_regions(
    lower: str,
    plan: tuple[tuple[frozenset[str], ...], ...],
    margin: int = 400,
    cache: dict[str, Any] | None = None,
) -> list[tuple[int, int]]:
    """Merged ``[start, end)`` stretches of ``lower`` where a match of a pattern with this
    :func:`prefilter_plan` can lie: within ``margin`` of a literal of an alternative's
    first factor that also has a literal of each of the alternative's other factors
    within ``margin``.

    ``cache`` (one dict per text) keeps each literal's hits, so a literal shared by
    several patterns is looked up once."""
    # a hit within margin/2 of the previous one adds nothing: every match holding it lies
    # inside the previous hit's stretch (matches are shorter than margin/2 characters)
    step = margin // 2
    hits: list[int] = []
    for first, *others in plan:
        found = _hits(lower, first, step, cache)
        if others:
            # a match holding the occurrence recorded as h (or one skipped within step
            # after it) lies within [h - step, h + 2 * step) and holds a literal of each
            # other factor there
            longest = max(len(lit) for factor in others for lit in factor)
            found = [h for h in found if _all_near(
                lower[max(0, h - step):h + 2 * step + longest], others)]
        hits += found
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
