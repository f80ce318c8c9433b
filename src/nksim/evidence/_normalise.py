"""Text normalisation for the claim checker, keeping a map back to the original text.

Adverts evade keyword checks by writing ``包 治 百 病`` (spaces, U+3000, zero-width
characters or punctuation inside Chinese words), ``сurеs`` (Cyrillic or Greek look-alike
letters), ``c u r e s`` (letter spacing), ``cur3s`` (leetspeak), ``cúrés`` (combining
accents), traditional characters (``絕對安全``), pinyin (``bao zhi bai bing``) or hundreds
of spaces between the words of a claim. The checker matches its rules on the normalised
text and reports every span in the ORIGINAL text through :meth:`Normalised.original_span`.

All passes are linear in the length of the text (``str.translate`` and ``re`` scans); the
map back to the original keeps each pass's edits (not one offset per character) and is
followed back, pass by pass, only for the spans that are reported. Traditional-to-simplified
conversion uses OpenCC's character table (``TSCharacters.txt`` of
``opencc-python-reimplemented``) character by character, so lengths and offsets hold.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

# invisible characters (a regex class): zero-width spaces and joiners, direction marks,
# embeddings and isolates, invisible operators, soft hyphen, Hangul fillers, variation
# selectors and tag characters
_ZERO_WIDTH = ("\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad"
               "\u180e\u115f\u1160\u3164\uffa0\ufe00-\ufe0f\U000e0000-\U000e007f")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
# separators that evaders put inside Chinese words; sentence punctuation (，。、！？：；“”)
# is kept because it carries structure
_CJK_NOISE = r"\s\u3000" + _ZERO_WIDTH + r"·•・*._~|/\\\-+=^'`"
# deleted: zero-width characters and stray combining marks anywhere, and noise between two
# Chinese characters (found as a Chinese character and the noise after it). Each pattern
# opens with a character class, which re skips to quickly (a pattern that opens with a
# look-behind is tried at every position); a test checks them against the plain form.
_DELETE_ANYWHERE = re.compile(rf"[{_ZERO_WIDTH}\u0300-\u036f\u1ab0-\u1aff\u20d0-\u20ff]")
_CJK_GAP = re.compile(rf"[{_CJK}]([{_CJK_NOISE}]+)(?=[{_CJK}])")
# punctuation between single Chinese characters, twice or more: "包，治，百，病",
# "包【治】百病", "绝（对）安（全）" (one word cut into characters; a list of single
# characters, "心、肝、脾", is joined too, harmlessly). Not sentence ends (。！？…), which
# would merge "风险：无！绝对安全" into a negated claim, nor the colons and semicolons of
# field lists ("不良事件：无；副作用：发热" is not "无副作用").
_CJK_CUT = r",、#【】“”‘’「」『』()《》<>\"'"
_CJK_SPACED = re.compile(
    rf"[{_CJK}](?:[{_CJK_CUT}]{{1,3}}[{_CJK}](?![{_CJK}]))+"
    rf"[{_CJK_CUT}]{{1,3}}[{_CJK}]")
_CJK_CUT_RUN = re.compile(rf"[{_CJK_CUT}]+")
#: The longest run of white space left in normalised text; a longer one is padding (more
#: than any wording needs), which the prefilter's bounds rely on being gone
MAX_SPACE_RUN = 10
_LONG_SPACE = re.compile(rf"\s{{{MAX_SPACE_RUN + 1},}}")
# three or more single letters separated by one space or dot: "c u r e s", "s.a.f.e"
# (the first letter, then a look-behind: not preceded by a letter)
_LETTER_SPACED = re.compile(
    r"[A-Za-z](?<![A-Za-z]{2})[ .\-_*·](?:[A-Za-z][ .\-_*·])+[A-Za-z](?![A-Za-z])")
_SPACED_SEP = re.compile(r"[ .\-_*·]")
# lower-case words with digits or symbols standing for letters: "cur3s", "r1sk-fr33", "s@fe"
_LEET_WORD = re.compile(r"[a-z](?<![\w@$][a-z])(?=[a-z0-9@$]*[0134578@$])[a-z0-9@$]{2,}(?![\w@$])")
# every such word has a letter followed by a digit, @ or $ (where its first non-letter is);
# looked for first, opening with the rarer characters
_LEET_HINT = re.compile(r"[0-9@$](?<=[a-z][0-9@$])")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "@": "a", "$": "s"})  # fmt: skip

# Cyrillic, Greek, Armenian and dotless Latin letters that look like Latin ones
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ɡ": "g", "һ": "h", "ԛ": "q", "ԝ": "w", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J",
    "Ѕ": "S", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "ı": "i", "ȷ": "j", "ս": "u", "օ": "o", "ո": "n", "հ": "h", "ց": "g", "զ": "q",
}  # fmt: skip

# scam phrases written in pinyin (tone marks are stripped first), mapped back to Chinese
_PINYIN = {
    "bao zhi bai bing": "包治百病",
    "jue dui an quan": "绝对安全",
    "bai fen zhi bai an quan": "百分之百安全",
    "ling feng xian": "零风险",
    "wu feng xian": "无风险",
    "wu fu zuo yong": "无副作用",
    "mei you fu zuo yong": "没有副作用",
    "yi zhen jian xiao": "一针见效",
    "yi zhen gen zhi": "一针根治",
    "wan neng": "万能",
    "shen yao": "神药",
    "fan lao huan tong": "返老还童",
    "ni ling": "逆龄",
    "kang shuai lao": "抗衰老",
    "kang shuai": "抗衰",
    "yan huan shuai lao": "延缓衰老",
    "nian qing shi sui": "年轻十岁",
    "hui fu huo li": "恢复活力",
    "you xiao lv": "有效率",
    "zhi yu lv": "治愈率",
    "hao zhuan lv": "好转率",
    "ti gao mian yi li": "提高免疫力",
    "bao zheng liao xiao": "保证疗效",
    "wu xiao tui kuan": "无效退款",
    "gan xi bao": "干细胞",
    "mian yi xi bao": "免疫细胞",
    "wai mi ti": "外泌体",
    "hui shu": "回输",
}
_PINYIN_SEQ = {tuple(k.split()): v for k, v in _PINYIN.items()}
_PINYIN_JOINED = {k.replace(" ", ""): v for k, v in _PINYIN.items()}
_SYLLABLES = {s for k in _PINYIN for s in k.split()}
_PINYIN_PREFIXES = {k[:n] for k in _PINYIN_SEQ for n in range(1, len(k) + 1)}
_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(65, 91)})


def _alternation(words: list[str]) -> str:
    """A regular expression matching exactly one of ``words`` (plain letters), written as a
    trie (``b(?:ao|ai)``): re follows one branch per letter instead of trying every word."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(word[1:])
    alternatives = []
    for first, rests in sorted(by_first.items()):
        longer = [rest for rest in rests if rest]
        tail = f"(?:{_alternation(longer)})" + ("?" if "" in rests else "") if longer else ""
        alternatives.append(re.escape(first) + tail)
    return "|".join(alternatives)


# candidate pinyin words (looked up in the lower-cased text; no leading look-behind, so that
# re can skip ahead on the first letters; a match preceded by a letter is dropped afterwards)
_PINYIN_WORD = re.compile(f"(?:{_alternation(sorted(_SYLLABLES | set(_PINYIN_JOINED)))})(?![a-z])")
_PINYIN_GAP = re.compile(r"[\s\-'.]*\Z")


def _pinyin_edits(text: str) -> list[tuple[int, int, str]]:
    """Edits replacing pinyin scam phrases (spaced or joined) by Chinese characters."""
    low = text.lower()
    if len(low) != len(text):
        low = text.translate(_ASCII_LOWER)
    words = [
        (m.start(), m.end(), m.group())
        for m in _PINYIN_WORD.finditer(low)
        if not (m.start() and "a" <= low[m.start() - 1] <= "z")
    ]
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        start, end, w = words[i]
        if w in _PINYIN_JOINED:
            edits.append((start, end, _PINYIN_JOINED[w]))
            i += 1
            continue
        best = None
        seq = [w]
        j = i
        while tuple(seq) in _PINYIN_PREFIXES:  # no phrase starts so: nothing to extend
            if tuple(seq) in _PINYIN_SEQ:
                best = (j, _PINYIN_SEQ[tuple(seq)])
            if j + 1 >= len(words) or not _PINYIN_GAP.match(text, words[j][1], words[j + 1][0]):
                break
            j += 1
            seq.append(words[j][2])
        if best is None:
            i += 1
            continue
        edits.append((start, words[best[0]][1], best[1]))
        i = best[0] + 1
    return edits


@lru_cache(maxsize=1)
def _t2s_table() -> dict[str, str]:
    """OpenCC's traditional-to-simplified character table (single characters only)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            first = parts[1].split(" ")[0]
            if len(first) == 1 and first != parts[0]:
                table[parts[0]] = first
    return table


_EMOJI = re.compile("[\u2600-\u27bf\U0001f300-\U0001faff]")
# hyphens that typography (or an evader) puts where a hyphen-minus goes: hyphen,
# non-breaking hyphen, figure dash, minus sign (not the en and em dashes: they break clauses)
_HYPHENS = frozenset("\u2010\u2011\u2012\u2212")


def _char_out(ch: str) -> str:
    """What the one-to-one character map makes of ``ch``: look-alike letters, traditional
    characters, U+3000 and emoji, hyphens and dashes, full-width and compatibility forms
    (NFKC), accents."""
    if ch in _HOMOGLYPHS:
        return _HOMOGLYPHS[ch]
    if ch in _t2s_table():
        return _t2s_table()[ch]
    if ch == "\u3000" or _EMOJI.match(ch):  # an emoji often stands between words
        return " "
    if ch in _HYPHENS:  # "risk‑free" with a non-breaking hyphen or a minus sign
        return "-"
    n = unicodedata.normalize("NFKC", ch)
    out = n if len(n) == 1 else ch
    d = unicodedata.normalize("NFD", out)
    if len(d) > 1 and all(unicodedata.combining(c) for c in d[1:]):
        out = d[0]  # "é" -> "e"; "ǎ" -> "a" (pinyin tones)
    return _HOMOGLYPHS.get(out, out)


class _CharMap(dict):  # type: ignore[type-arg]
    """A ``str.translate`` table computed lazily, one character at a time (1 to 1)."""

    def __missing__(self, code: int) -> str:
        out = self[code] = _char_out(chr(code))
        return out


#: The characters the map changes, worked out for every code point
#: (:func:`_write_changed_file` writes it; a test compares it with :func:`_char_out`)
_CHANGED_FILE = Path(__file__).parent / "data" / "charmap.json.gz"
# kept as they are, listed so that translating them is a dict hit: ASCII and Latin-1, CJK
# punctuation, the CJK ideographs, full-width forms
_COMMON = [*range(0x250), *range(0x3000, 0x3100), *range(0x3400, 0xA000), *range(0xFF00, 0xFFF0)]


@lru_cache(maxsize=1)
def _char_table() -> dict[int, str]:
    """The ``str.translate`` table: read from the shipped list of changed characters (a
    character looked up one at a time costs about 1.5 us, which 1 MB of different
    characters would pay a million times), or lazily when it was made with another version
    of Unicode than this Python's."""
    try:
        with gzip.open(_CHANGED_FILE, "rt", encoding="utf-8") as fh:
            stored = json.load(fh)
    except (OSError, ValueError):  # pragma: no cover - shipped with the package
        return _CharMap()
    if stored["unicode"] != unicodedata.unidata_version:  # pragma: no cover - other Pythons
        return _CharMap()
    table = {int(code): out for code, out in stored["changed"].items()}
    for code in _COMMON:
        table.setdefault(code, chr(code))
    return table


def _changed_chars() -> dict[int, str]:
    """Every code point the map changes, with what it becomes (about 2 s)."""
    return {code: out for code in range(0x110000) if not 0xD800 <= code < 0xE000
            and (out := _char_out(chr(code))) != chr(code)}


@dataclass(frozen=True)
class Edits:
    """One pass's edits: ``text[a[j]:b[j]]`` replaced by ``length[j]`` characters, sorted
    and non-overlapping, with where each replacement starts in the pass's output."""

    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    out_at: np.ndarray  # output offset of each replacement's first character
    shift: np.ndarray  # output offset minus input offset after each edit

    @classmethod
    def of(cls, edits: list[tuple[int, int, str]]) -> Edits:
        count = len(edits)
        a = np.fromiter((e[0] for e in edits), dtype=np.int64, count=count)
        b = np.fromiter((e[1] for e in edits), dtype=np.int64, count=count)
        length = np.fromiter((len(e[2]) for e in edits), dtype=np.int64, count=count)
        shift = np.cumsum(length - (b - a))
        return cls(a, b, length, b + shift - length, shift)

    def sources(self, p: int) -> tuple[int, int]:
        """The first and last input character that output character ``p`` comes from (a
        kept character comes from itself, a replacement's from all it replaces)."""
        j = int(np.searchsorted(self.out_at, p, side="right")) - 1
        if j < 0:
            return p, p
        if p < self.out_at[j] + self.length[j]:
            return int(self.a[j]), int(self.b[j]) - 1
        q = p - int(self.shift[j])
        return q, q


@dataclass(frozen=True)
class Normalised:
    """A normalised text, and the edits that map each of its characters back to the span
    of the original text it came from."""

    original: str
    text: str
    passes: tuple[Edits, ...] = ()  # in the order they were made

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Offsets in the original text of the normalised span ``[start, end)``."""
        if not 0 <= start <= len(self.text) or not end <= len(self.text):
            raise IndexError(f"span [{start}, {end}) outside a text of {len(self.text)}")
        if end <= start:
            if start >= len(self.text):
                return len(self.original), len(self.original)
            pos = self._first(start)
            return pos, pos
        return self._first(start), self._last(end - 1) + 1

    def original_text(self, start: int, end: int) -> str:
        s, e = self.original_span(start, end)
        return self.original[s:e]

    def _first(self, p: int) -> int:
        for edits in reversed(self.passes):
            p = edits.sources(p)[0]
        return p

    def _last(self, p: int) -> int:
        for edits in reversed(self.passes):
            p = edits.sources(p)[1]
        return p


def _apply_edits(
    text: str, passes: list[Edits], edits: list[tuple[int, int, str]]
) -> str:
    """Replace ``text[a:b]`` by ``repl`` for sorted, non-overlapping ``(a, b, repl)`` edits
    with ``b > a``, and record them in ``passes`` (each character of a replacement maps
    back to the union of the characters it replaces; kept characters to themselves)."""
    if not edits:
        return text
    passes.append(Edits.of(edits))
    pieces: list[str] = []
    pos = 0
    for x, y, repl in edits:
        pieces.append(text[pos:x])
        pieces.append(repl)
        pos = y
    pieces.append(text[pos:])
    return "".join(pieces)


def _deletions(text: str) -> list[tuple[int, int, str]]:
    """Edits deleting zero-width characters and stray combining marks, the noise between
    two Chinese characters, and punctuation cutting a word into single characters (joined
    where they overlap)."""
    spans = sorted([m.span() for m in _DELETE_ANYWHERE.finditer(text)]
                   + [m.span(1) for m in _CJK_GAP.finditer(text)]
                   + [(m.start() + r.start(), m.start() + r.end())
                      for m in _CJK_SPACED.finditer(text)
                      for r in _CJK_CUT_RUN.finditer(m.group())])
    edits: list[tuple[int, int, str]] = []
    for a, b in spans:
        if edits and a < edits[-1][1]:
            if b > edits[-1][1]:
                edits[-1] = (edits[-1][0], b, "")
        else:
            edits.append((a, b, ""))
    return edits


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for matching (see the module docstring); linear time."""
    passes: list[Edits] = []
    # 1. one-to-one character map: full-width and compatibility forms (NFKC), accents,
    #    Cyrillic/Greek look-alikes, traditional -> simplified, U+3000 -> space
    out = text.translate(_char_table())
    # 2. deletions: zero-width characters, stray combining marks, noise inside Chinese words
    edits = _deletions(out)
    out = _apply_edits(out, passes, edits)
    # 3. letter spacing: "c u r e s" -> "cures"
    edits = []
    for m in _LETTER_SPACED.finditer(out):
        edits.extend(
            (m.start() + s.start(), m.start() + s.end(), "")
            for s in _SPACED_SEP.finditer(m.group())
        )
    out = _apply_edits(out, passes, edits)
    # 4. leetspeak inside lower-case words (same length): "cur3s" -> "cures"
    if _LEET_HINT.search(out) and _LEET_WORD.search(out):
        out = _LEET_WORD.sub(lambda m: m.group().translate(_LEET), out)
    # 5. pinyin scam phrases -> Chinese characters
    out = _apply_edits(out, passes, _pinyin_edits(out))
    # 6. padding: a long run of white space (which pushes a claim's words apart, beyond
    #    what the prefilter and a sentence window read) -> one space, or one line break if
    #    it had one (a line break ends a sentence)
    edits = [(m.start(), m.end(), "\n" if "\n" in m.group() else " ")
             for m in _LONG_SPACE.finditer(out)]
    out = _apply_edits(out, passes, edits)
    return Normalised(original=text, text=out, passes=tuple(passes))


def _write_changed_file() -> None:
    """Write :data:`_CHANGED_FILE` (after a change to the map, or for a new Unicode)."""
    data = {"unicode": unicodedata.unidata_version,
            "changed": {str(k): v for k, v in sorted(_changed_chars().items())}}
    _CHANGED_FILE.write_bytes(gzip.compress(json.dumps(data, ensure_ascii=False).encode(),
                                            mtime=0))
