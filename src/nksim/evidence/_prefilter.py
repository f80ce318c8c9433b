"""Literal prefilters for the claim checker's regular expressions (linear-time scanning).

Python's ``re`` tries every pattern at every position, so 150 patterns over 1 MB take
seconds. Like RE2's prefilter, :func:`plan` reads a pattern's parse tree for a set of
literal strings one of which every match must contain (or ``None`` when there is none),
and also how far such an occurrence can lie from a match's start and how far the match
can read past it (each top-level alternative with its own bounds). The checker finds
where the literals occur (:class:`LiteralIndex`: one Aho-Corasick pass over the text for
the rules' literals) and runs each pattern only on the stretches of text where a match
can lie (:func:`candidate_regions`), or, when its literals lie close to a match's start,
only at the offsets where a match can start (:func:`candidate_starts`).

The bounds are exact on normalised text, where a run of white space is at most
``MAX_SPACE_RUN`` characters long (``_normalise``). Where a pattern has no bound of its
own (``\\w+``, ``\\d+``), the premise is that the literal lies at most ``MARGIN`` characters
after the match's start and the match reads at most ``2 * MARGIN`` past it. Literals and
text are lower-cased as ``re.IGNORECASE`` compares characters (:func:`lowered`). Within
these premises the filter can only skip text where the pattern cannot match (tests compare
it with a search of the whole text). The checker's compact copy of a repetitive text joins
sentence windows with a line break, which can make a longer white-space run; a match across
two windows may then be missed, but such matches are dropped anyway (``_claims._Compact``).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from ._normalise import MAX_SPACE_RUN

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


def _case_classes() -> dict[int, str]:
    """One character for each group of lower-case letters that ``re.IGNORECASE`` takes as
    equal beyond ``str.lower`` (ſ and s, µ and μ, ı and i, ς and σ...: ``re._casefix``)."""
    try:
        from re._casefix import _EXTRA_CASES  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python 3.10 has its own table
        return {}
    fold: dict[int, str] = {}
    for code, others in _EXTRA_CASES.items():
        group = (code, *others)
        fold.update(dict.fromkeys(group, chr(min(group))))
    return {k: v for k, v in fold.items() if chr(k) != v}


_FOLD = _case_classes()
_FOLDED = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]") if _FOLD \
    else re.compile("(?!)")


def lowered(text: str) -> str:
    """``text`` lower-cased as ``re.IGNORECASE`` compares characters, offsets kept: İ (whose
    ``str.lower`` is two characters) becomes i, as in ``re``, and the characters ``re``
    also takes as equal become one of them."""
    low = text.lower()
    if len(low) != len(text):  # only İ lower-cases to two characters
        low = text.replace("\u0130", "i").lower()
    return low.translate(_FOLD) if _FOLDED.search(low) else low


def _good(lits: set[str] | None) -> bool:
    return bool(lits) and all(len(s) >= 2 or _CJK.search(s) for s in lits)  # type: ignore[union-attr]


def _score(lits: set[str]) -> tuple[int, int]:
    return (min(len(s) for s in lits), -len(lits))


#: An upper bound that is not known: the pattern can match or read arbitrarily far.
UNBOUNDED = math.inf


def _is_space(op: object, av: Any) -> bool:
    """Whether a parsed item matches white space only (a run of it is at most
    ``MAX_SPACE_RUN`` characters long in normalised text)."""
    if op is _c.CATEGORY:
        return av in (_c.CATEGORY_SPACE, _c.CATEGORY_UNI_SPACE)
    if op is _c.LITERAL:
        return chr(av).isspace()
    if op is _c.IN:
        return all(_is_space(o, v) for o, v in av)
    return False


_Extent = tuple[float, float, float]


def _item_extent(op: object, av: Any, memo: dict[int, _Extent]) -> _Extent:
    """``(shortest, longest, overhang)`` of one parsed item's matches, where ``overhang``
    is how far past a match's end it may read (look-aheads, ``\\b``), or
    :data:`UNBOUNDED`; a white-space repeat counts as at most ``MAX_SPACE_RUN``
    characters."""
    if op in (_c.LITERAL, _c.NOT_LITERAL, _c.ANY, _c.IN, _c.CATEGORY):
        return 1.0, 1.0, 0.0
    if op is _c.AT:  # \b, $ ... look at the next character
        return 0.0, 0.0, 1.0
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        direction, body = av
        _, longest, over = _extent(body, memo)
        # a look-ahead reads its own width on; a look-behind ends here, and reads on only
        # by what it holds (a look-ahead inside it)
        return 0.0, 0.0, (longest + over if direction == 1 else over)
    if op is _c.SUBPATTERN:
        return _extent(av[-1], memo)
    if op is _c.BRANCH:
        each = [_extent(alt, memo) for alt in av[1]]
        return min(x[0] for x in each), max(x[1] for x in each), max(x[2] for x in each)
    if op in _REPEATS:
        least, most, body = av
        b_lo, b_hi, b_over = _extent(body, memo)
        if most == _c.MAXREPEAT:
            spaces = len(body.data) == 1 and _is_space(*body.data[0])
            most = MAX_SPACE_RUN if spaces else UNBOUNDED
        return least * b_lo, (most * b_hi if most and b_hi else 0.0), (b_over if most else 0.0)
    return 0.0, UNBOUNDED, UNBOUNDED  # back-references, conditionals...


def _joined(each: list[_Extent]) -> _Extent:
    """The extent of a sequence from its items' extents: an item reads past the sequence's
    end by its own overhang less what the items after it must consume."""
    overhang = consumed = 0.0  # consumed: the least the items after the current one take
    for lo, _, over in reversed(each):
        overhang = max(overhang, over - consumed)
        consumed += lo
    return consumed, sum(hi for _, hi, _ in each), overhang


def _extent(sub: Any, memo: dict[int, _Extent]) -> _Extent:
    """The extent of a parsed (sub)pattern, kept in ``memo`` (one per parse) by identity."""
    found = memo.get(id(sub))
    if found is None:
        found = memo[id(sub)] = _joined([_item_extent(op, av, memo) for op, av in sub.data])
    return found


# What every match needs: one of several parts, each a set of literals with three bounds
# (characters): how far after the start of the (sub)pattern an occurrence can lie, how far
# past the occurrence's start the (sub)pattern can end, and how far past it the match can
# read. An alternation keeps each alternative's own bounds.
_Part = tuple[frozenset[str], float, float, float]
_Need = tuple[_Part, ...]


def _literals(need: _Need) -> set[str]:
    return set().union(*(part[0] for part in need))


def _merged(parts: list[_Part]) -> _Need:
    """``parts`` with those of equal bounds joined into one."""
    by_bounds: dict[tuple[float, float, float], frozenset[str]] = {}
    for lits, *bounds in parts:
        by_bounds[tuple(bounds)] = by_bounds.get(tuple(bounds), frozenset()) | lits
    return tuple((lits, *bounds) for bounds, lits in by_bounds.items())


def _req(items: list[tuple[object, Any]], memo: dict[int, _Extent]) -> _Need | None:
    """What every match of the parsed sequence ``items`` needs: the literal set found in
    one of its items or literal runs that :func:`_preference` likes best, with its bounds
    placed in the whole sequence."""
    cands: list[tuple[_Need, int, int]] = []  # a need, relative to items[k:end]
    run: list[str] = []
    run_at = 0

    def flush(end: int) -> None:
        if run:
            lit, n = "".join(run), float(len(run))
            if _good({lit}):
                cands.append((((frozenset({lit}), 0.0, n, n),), run_at, end))
            run.clear()

    for k, (op, av) in enumerate(items):
        if op is _c.LITERAL:
            if not run:
                run_at = k
            run.append(lowered(chr(av)))
            continue
        flush(k)
        sub: _Need | None = None
        if op is _c.SUBPATTERN:
            sub = _req(list(av[-1].data), memo)
        elif op is _c.BRANCH:
            alts = [_req(list(a.data), memo) for a in av[1]]
            if all(a is not None and _good(_literals(a)) for a in alts):
                sub = _merged([part for alt in alts for part in alt])  # type: ignore[union-attr]
        elif op in _REPEATS:
            lo, hi, body = av
            if lo >= 1 and (first := _req(list(body.data), memo)) is not None:
                # the first repetition holds the literal; the others come after it
                more = hi - 1 if hi != _c.MAXREPEAT else hi
                _, rest, over = _item_extent(op, (0, more, body), memo)
                sub = tuple((lits, before, to_end + rest, max(reads, to_end + rest + over))
                            for lits, before, to_end, reads in first)
        if sub is not None and _good(_literals(sub)):
            cands.append((sub, k, k + 1))
    flush(len(items))
    return max((_placed(need, items[:k], items[end:], memo) for need, k, end in cands),
               key=_preference, default=None)


def _placed(need: _Need, pre: list[tuple[object, Any]], post: list[tuple[object, Any]],
            memo: dict[int, _Extent]) -> _Need:
    """``need`` of a stretch placed in a sequence: the items before it (``pre``) put the
    occurrence later; those after it (``post``) are read past the stretch's end."""
    _, pre_longest, pre_over = _joined([_item_extent(op, av, memo) for op, av in pre])
    _, post_longest, post_over = _joined([_item_extent(op, av, memo) for op, av in post])
    return tuple((lits, pre_longest + before, to_end + post_longest,
                  max(pre_over, reads, to_end + post_longest + post_over))
                 for lits, before, to_end, reads in need)


def _preference(need: _Need) -> tuple[bool, bool, int, int]:
    """Which of several needs to plan on: one with bounds of its own (no premise), then one
    whose literals lie close to a match's start (the pattern is then tried where a match
    can start instead of scanned: :func:`candidate_starts`) unless one is as short as "re"
    or "of" (found all over a text), then the longest shortest literal and the fewest
    literals (the fewest occurrences)."""
    before = max(part[1] for part in need)
    score = _score(_literals(need))
    return before < UNBOUNDED, before <= ANCHOR and score[0] >= 3, *score


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
def first_char_guard(rx: PatternLike, most: int = 60) -> PatternLike:
    """``rx`` with a look-ahead for the characters its matches can start with, e.g.
    ``(?=[cmn])(?:\\b(?:many|countless|numerous)...)``: the same matches, but ``re``
    skips the other positions of a text quickly instead of trying the pattern at each
    (twice as fast for such a pattern on a text where its literals are everywhere).
    ``rx`` itself when its first characters are not a short list. Made once per pattern
    (cached), and only for long texts: compiling every rule pattern again costs about
    0.05 s."""
    first = _first(rx.pattern, rx.flags)
    if not first or len(first) > most:
        return rx
    chars = "".join(re.escape(ch) for ch in sorted(first))
    try:
        guarded = re.compile(f"(?=[{chars}])(?:{rx.pattern})", rx.flags)
    except re.error:  # e.g. global inline flags, which must open the pattern
        return rx
    # its plan is the pattern's: the guard reads only a match's first character
    _UNGUARDED[guarded.pattern, rx.flags] = rx.pattern
    return guarded


_UNGUARDED: dict[tuple[str, int], str] = {}


@cache
def _parsed(pattern: str, flags: int) -> Any:
    """The parse tree of ``pattern`` (read by :func:`plan` and :func:`_first`), or None."""
    try:
        return _p.parse(pattern, flags)
    except Exception:  # pragma: no cover - patterns are validated when loaded
        return None


def _first(pattern: str, flags: int) -> frozenset[str] | None:
    """The characters a match of ``pattern`` can start with (:func:`_first_chars`)."""
    key = (pattern, flags)
    if key not in _FIRSTS:
        tree = _parsed(pattern, flags)
        first = _first_chars(list(tree.data)) if tree is not None and tree.getwidth()[0] > 0 \
            else None
        _FIRSTS[key] = None if first is None else frozenset(first)
    return _FIRSTS[key]


_FIRSTS: dict[tuple[str, int], frozenset[str] | None] = {}


class Anchor(NamedTuple):
    """Literals (lower-cased) one of which every match of a part of a pattern contains,
    with where: an occurrence lies at most ``before`` characters after the match's start,
    and the match reads at most ``after`` characters past the occurrence's start (its
    look-aheads included). Both are exact bounds on normalised text, capped at the
    prefilter's premise (``MARGIN`` and ``2 * MARGIN``) where a pattern has no bound of its
    own (``\\w+``)."""

    literals: frozenset[str]
    before: int
    after: int


class Plan(NamedTuple):
    """Where a pattern's matches can lie: near an occurrence of one of ``literals``, as its
    parts (:class:`Anchor`, one per group of alternatives with equal bounds) say; and what
    a match's first character is, lower-cased (one of ``first``; None: not a short list)."""

    literals: frozenset[str]
    parts: tuple[Anchor, ...]
    first: frozenset[str] | None


def plan(pattern: str, flags: int) -> Plan | None:
    """The :class:`Plan` of ``pattern``, or None when no literal is required."""
    if (pattern, flags) in _UNGUARDED:
        return plan(_UNGUARDED[pattern, flags], flags)
    key = (pattern, flags)
    if key not in _PLANS:
        _PLANS[key] = _make_plan(pattern, flags)
    return _PLANS[key]


_PLANS: dict[tuple[str, int], Plan | None] = {}


def _make_plan(pattern: str, flags: int) -> Plan | None:
    tree = _parsed(pattern, flags)
    if tree is None:  # pragma: no cover - patterns are validated when loaded
        return None
    need = _req(list(tree.data), {})
    if need is None or not _good(_literals(need)):
        return None
    parts = _merged([(lits, before, 0.0, reads) for lits, before, _, reads in need])
    return Plan(frozenset(_literals(need)), tuple(
        Anchor(lits, int(min(before, MARGIN)), int(min(reads, 2 * MARGIN)))
        for lits, before, _, reads in parts), _lowered_chars(_first(pattern, flags)))


def _lowered_chars(chars: frozenset[str] | None) -> frozenset[str] | None:
    return None if chars is None else frozenset(map(lowered, chars))


def preload(patterns: Iterable[PatternLike], compute: bool = True) -> bool:
    """Read the plans and first characters of ``patterns`` from nksim's cache folder
    (:func:`~nksim._io.cache_dir`), where the first process to need them wrote them: working
    them out reads every pattern's parse tree (about 0.15 s for the claim checker's). The
    copy is named by a hash of the patterns, this module's source, the white-space bound
    and the Python version, so a change to any makes a new one; an unreadable copy is
    ignored (and made again). Without a copy, and with ``compute`` false, nothing is done.
    Returns whether the plans are now known."""
    keys = sorted({(rx.pattern, rx.flags) for rx in patterns})
    path = _preload_path(keys)
    stored = _read_plans(path)
    if stored is None:
        if not compute:
            return False
        stored = {k: (plan(*k), _first(*k)) for k in keys}
        _write_plans(path, stored)
    for key, (found, first) in stored.items():
        _PLANS.setdefault(key, found)
        _FIRSTS.setdefault(key, first)
    return True


def known_plan(pattern: str, flags: int) -> Plan | None:
    """The plan of a pattern if it has been worked out or read already, else None."""
    return _PLANS.get((_UNGUARDED.get((pattern, flags), pattern), flags))


def _preload_path(keys: list[tuple[str, int]]) -> Path:
    from nksim._io import cache_dir

    digest = hashlib.sha256(json.dumps(
        [keys, MAX_SPACE_RUN, sys.version, Path(__file__).read_text(encoding="utf-8")]
    ).encode()).hexdigest()[:20]
    return cache_dir() / "prefilter" / f"plans-{digest}.json"


_Stored = dict[tuple[str, int], tuple[Plan | None, frozenset[str] | None]]


def _read_plans(path: Path) -> _Stored | None:
    def chars(x: list[str] | None) -> frozenset[str] | None:
        return None if x is None else frozenset(x)

    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {(pattern, flags): (None if p is None else Plan(
            frozenset(p["literals"]), tuple(Anchor(frozenset(a), b, c) for a, b, c in p["parts"]),
            _lowered_chars(chars(first))), chars(first)) for pattern, flags, p, first in rows}
    except Exception:  # missing, truncated or not ours: worked out again
        return None


def _write_plans(path: Path, stored: _Stored) -> None:
    from nksim._io import write_bytes_atomic

    def chars(x: frozenset[str] | None) -> list[str] | None:
        return None if x is None else sorted(x)

    rows = [[pattern, flags, None if p is None else {
        "literals": sorted(p.literals), "parts": [[sorted(a.literals), a.before, a.after]
                                                  for a in p.parts]},
        chars(first)] for (pattern, flags), (p, first) in stored.items()]
    with contextlib.suppress(OSError):  # a read-only cache: worked out in each process
        write_bytes_atomic(path, json.dumps(rows, ensure_ascii=False).encode("utf-8"))


def required_literals(pattern: str, flags: int) -> frozenset[str] | None:
    """Lower-cased literals one of which every match of ``pattern`` contains, or None."""
    found = plan(pattern, flags)
    return None if found is None else found.literals


#: The prefilter's premise for patterns without a bound of their own (``\\w+``, ``\\d+``):
#: the literal lies at most this many characters after a match's start, and the match
#: reads at most twice as far past it.
MARGIN = 400


#: Occurrences of a literal closer than this to a listed one are not listed (characters).
STEP = 32


class LiteralIndex:
    """Where literals occur in one text (lower-cased by :func:`lowered`): those given are
    found in one pass (Aho-Corasick, ``pyahocorasick``), any other by ``str.find`` when
    first asked for."""

    def __init__(self, text: str, literals: frozenset[str] = frozenset()) -> None:
        self.lower = lowered(text)
        self._searched = set(literals)
        self._searched_sets: set[frozenset[str]] = set()
        self._found: dict[str, np.ndarray] = {}  # literals that occur: sorted start offsets
        self._exact: dict[str, np.ndarray] = {}  # the same, every occurrence (those given)
        self._passed = frozenset(literals)  # found in one pass: every occurrence known
        self._regions: dict[Plan, tuple[np.ndarray, ...] | None] = {}  # _region_arrays
        order = sorted(literals)
        found = np.fromiter(
            itertools.chain.from_iterable(_automaton(literals).iter(self.lower)), np.int64
        ) if self.lower and order else np.zeros(0, np.int64)
        ends, which = found[0::2], found[1::2]  # (end offset, literal number) pairs
        if which.size:
            starts = ends - np.array([len(x) for x in order], np.int64)[which] + 1
            starts = starts[np.argsort(which, kind="stable")]  # by literal, in text order
            present = np.unique(which)
            bounds = np.append(np.searchsorted(np.sort(which), present), which.size)
            for i, (x, y) in zip(present.tolist(), itertools.pairwise(bounds.tolist()),
                                 strict=True):
                at = self._exact[order[i]] = starts[x:y]
                # the first occurrence in each stretch of STEP characters
                self._found[order[i]] = at[np.r_[True, np.diff(at // STEP) != 0]]

    @cached_property
    def codes(self) -> np.ndarray:
        """The lower-cased text's code points."""
        return np.frombuffer(self.lower.encode("utf-32-le"), np.uint32)

    def every_occurrence(self, literals: frozenset[str]) -> list[np.ndarray] | None:
        """Every start offset of each of ``literals`` that occurs, or None unless all of
        them were looked up in the index's one pass."""
        if not literals <= self._passed:
            return None
        return [self._exact[lit] for lit in self._exact.keys() & literals]

    def occurrences(self, literals: frozenset[str]) -> list[np.ndarray]:
        """Where each of ``literals`` that occurs in the text occurs: sorted start offsets,
        such that every occurrence starts less than ``STEP`` characters after one of
        them (a literal repeated all over a text is not listed a million times)."""
        if literals not in self._searched_sets:
            self._searched_sets.add(literals)
            for lit in literals - self._searched:
                self._searched.add(lit)
                found = []
                pos = self.lower.find(lit)
                while pos >= 0:
                    found.append(pos)
                    pos = self.lower.find(lit, pos + STEP)
                if found:
                    self._found[lit] = np.array(found, np.int64)
        if self._found.keys().isdisjoint(literals):
            return []
        return [self._found[lit] for lit in self._found.keys() & literals]


@cache
def _automaton(literals: frozenset[str]) -> Any:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for i, lit in enumerate(sorted(literals)):
        automaton.add_word(lit, i)
    automaton.make_automaton()
    return automaton


#: A pattern whose literals lie at most this many characters after its matches' start is
#: tried only where a match can start (``re.match`` at each such offset) when that is
#: cheaper than scanning its stretches (design choice).
ANCHOR = 16
#: What one ``re.match`` call costs, in characters of a ``re`` scan (roughly, on the
#: keyword-salad benchmark; design choice).
CALL_COST = 8


def candidate_starts(index: LiteralIndex, needed: Plan) -> list[int] | None:
    """Every offset of the indexed text where a match can start, in order, when the
    pattern's literals lie close to its matches' start (at most ``ANCHOR`` characters) and
    trying each offset costs less than scanning :func:`candidate_regions`; else None.
    Exact on normalised text: these bounds are the pattern's own (no ``MARGIN`` premise),
    and a match may read on to the text's end."""
    if max(part.before for part in needed.parts) > ANCHOR:
        return None
    found = [(part.before, index.every_occurrence(part.literals)) for part in needed.parts]
    if any(at is None for _, at in found):
        return None
    tries = sum((before + 1) * len(x) for before, at in found for x in at)  # type: ignore[union-attr]
    if tries == 0:
        return []
    regions = _region_arrays(index, needed)
    scanned = 0 if regions is None else int((regions[2] - regions[0]).sum())
    if tries > scanned:  # surely dearer: not worth listing the offsets to filter them
        return None
    starts = np.unique(np.concatenate(
        [x - d for before, at in found for x in at for d in range(before + 1)]))  # type: ignore[union-attr]
    starts = starts[np.searchsorted(starts, 0):]
    if needed.first is not None:  # only where the text has a character a match starts with
        first = np.array([ord(ch) for ch in needed.first], np.uint32)
        starts = starts[np.isin(index.codes[starts], first)]
    return starts.tolist() if len(starts) * CALL_COST <= scanned else None


def candidate_regions(index: LiteralIndex, needed: Plan) -> list[tuple[int, int, int]]:
    """Stretches ``(a, b, e)`` of the indexed text to search: every match starts in
    ``[a, b)`` of one of them and reads nothing past ``e``. Stretches whose reading
    overlaps are merged (scanning the gap costs no more than reading it twice)."""
    regions = _region_arrays(index, needed)
    return [] if regions is None else list(zip(*(x.tolist() for x in regions), strict=True))


def _region_arrays(index: LiteralIndex, needed: Plan) -> tuple[np.ndarray, ...] | None:
    """The stretches of :func:`candidate_regions` as arrays ``a, b, e``, or None when no
    literal occurs; kept in the index (:func:`candidate_starts` weighs them first)."""
    if needed not in index._regions:
        index._regions[needed] = _stretches(index, needed)
    return index._regions[needed]


def _stretches(index: LiteralIndex, needed: Plan) -> tuple[np.ndarray, ...] | None:
    if not index.occurrences(needed.literals):
        return None
    parts = [r for part in needed.parts if (r := _regions(index, part)) is not None]
    a, b, e = (np.concatenate(x) for x in zip(*parts, strict=True))
    if len(parts) > 1:
        order = np.argsort(a, kind="stable")
        a, b, e = _merge(a[order], b[order], e[order])
    return a, b, e


def _merge(a: np.ndarray, b: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, ...]:
    """Stretches sorted by ``a`` joined where one starts before the reading of those before
    it ends."""
    reach = np.maximum.accumulate(e)
    first = np.concatenate(([0], np.flatnonzero(a[1:] > reach[:-1]) + 1))
    last = np.concatenate((first[1:] - 1, [a.size - 1]))
    return a[first], np.maximum.reduceat(b, first), reach[last]


def _regions(index: LiteralIndex, part: Anchor) -> tuple[np.ndarray, ...] | None:
    found = index.occurrences(part.literals)
    if not found:
        return None
    hits = np.sort(np.concatenate(found)) if len(found) > 1 else found[0]
    # a hit at h stands for occurrences in [h, h + STEP): matches start in
    # [h - before, h + STEP) and read up to h + STEP + after; both grow with h, so the
    # regions are the runs of hits whose reading overlaps
    a, b, e = _merge(hits - part.before, hits + STEP, hits + STEP + part.after)
    return np.maximum(a, 0), b, np.minimum(e, len(index.lower))


class PatternLike(Protocol):
    """What :func:`finditer` needs of a pattern: a compiled ``re`` pattern, or a rule's
    pattern compiled when first used (``_rules.LazyPattern``)."""

    pattern: str
    flags: int

    def finditer(self, text: str, pos: int = ..., endpos: int = ...) -> Iterator[re.Match[str]]:
        ...

    def match(self, text: str, pos: int = ..., endpos: int = ...) -> re.Match[str] | None:
        ...


PREFILTER_FROM = 5_000  # characters; shorter texts are searched whole (design choice)


def finditer(
    rx: PatternLike, text: str, index: LiteralIndex | None = None, guard: bool = False
) -> Iterator[re.Match[str]]:
    """``rx.finditer(text)`` on normalised ``text``, run only where a match can lie: near
    the literals every match contains (``index``: where they occur in this text), tried
    where a match can start (:func:`candidate_starts`) or scanned over stretches
    (:func:`candidate_regions`; with ``guard``, by the pattern with a first-character
    guard, made when first needed). A text shorter than ``PREFILTER_FROM`` is searched
    whole, unless the pattern's plan is at hand (:func:`preload`) and ``index`` shows that
    none of its literals occurs in the text. ``rx`` is not used at all where no match can
    lie (a rule's pattern is then never compiled)."""
    short = len(text) < PREFILTER_FROM
    needed = (known_plan if short else plan)(rx.pattern, rx.flags)
    if needed is not None and index is not None and not index.occurrences(needed.literals):
        return
    if needed is None or short:
        yield from rx.finditer(text)
        return
    index = index or LiteralIndex(text)
    last_end = -1
    starts = candidate_starts(index, needed)
    if starts is not None:
        if starts:
            match = getattr(rx, "compiled", rx).match  # a LazyPattern's own, without its wrapper
            for p in starts:
                if p >= last_end and (m := match(text, p)) is not None:
                    last_end = m.end()
                    yield m
        return
    regions = candidate_regions(index, needed)
    scan = (first_char_guard(rx) if guard and regions else rx).finditer
    for a, b, e in regions:
        for m in scan(text, a, e):
            if m.start() >= b:
                break
            if m.start() >= last_end:
                last_end = m.end()
                yield m
