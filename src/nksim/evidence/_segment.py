"""jieba word segmentation, loaded in a fraction of the time.

jieba keeps its prefix dictionary (about 500,000 words and word prefixes with their
frequencies) as a ``marshal`` file and reads it back in every process: 0.6-0.8 s on the
development machine, most of the time of a first Chinese check with a negator before a
match. nksim keeps a copy in its cache folder (:func:`~nksim._io.cache_dir`) as one block
of text (the words, sorted) and one array of frequencies, which reads back in about 0.1 s:
the words are looked up by bisection (:class:`_Frequencies`, about a microsecond each)
instead of being hashed into a dict (0.14 s more). It is the same dictionary, so the
segmentation is the same (a test compares the two dictionaries and the words of sample
texts). The copy is made from jieba's own dictionary the first time, and
is named by jieba's version and the size and time of its ``dict.txt``: a new jieba makes
a new copy. An unreadable copy is ignored (jieba's own loading is used, and the copy made
again).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def jieba() -> Any:
    """The ``jieba`` module, its default dictionary loaded (from nksim's copy if there is
    one)."""
    with _without_pkg_resources():
        import jieba as jb

    jb.setLogLevel(logging.WARNING)
    path = _copy_path(jb)
    loaded = _read(path)
    if loaded is None:
        jb.initialize()
        _write(path, jb.dt.FREQ, jb.dt.total)
    else:
        jb.dt.FREQ, jb.dt.total = loaded
        jb.dt.initialized = True
    return jb


@contextlib.contextmanager
def _without_pkg_resources() -> Iterator[None]:
    """Make setuptools' ``pkg_resources`` unimportable for a moment (unless it is imported
    already). jieba imports it only to open its own data files, and opens them by their
    path beside its module when it cannot: the same files, without the 0.09 s that
    importing ``pkg_resources`` costs (a ``None`` in ``sys.modules`` makes an import
    fail, as the import system documents). Only while this is the process's one thread:
    the shortcut is seen by every thread."""
    if "pkg_resources" in sys.modules or threading.active_count() > 1:
        yield  # another thread could import it meanwhile: jieba imports it as it would
        return
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]


def _copy_path(jb: Any) -> Path:
    from nksim._io import cache_dir

    source = os.stat(os.path.join(os.path.dirname(jb.__file__), "dict.txt"))
    name = f"jieba-{jb.__version__}-{source.st_size}-{int(source.st_mtime)}-sorted.npz"
    return cache_dir() / "jieba" / name


class _Frequencies(Mapping[str, int]):
    """jieba's prefix dictionary (word -> frequency) read-only, as sorted words and their
    frequencies, looked up by bisection."""

    def __init__(self, words: list[str], freq: list[int]) -> None:
        self._words = words
        self._freq = freq

    def _at(self, word: str) -> int:
        i = bisect_left(self._words, word)
        return i if i < len(self._words) and self._words[i] == word else -1

    def __getitem__(self, word: str) -> int:
        i = self._at(word)
        if i < 0:
            raise KeyError(word)
        return self._freq[i]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._at(word) >= 0

    def get(self, word: str, default: Any = None) -> Any:  # type: ignore[override]
        i = self._at(word)
        return default if i < 0 else self._freq[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)


def _read(path: Path) -> tuple[Mapping[str, int], int] | None:
    try:
        with np.load(path) as z:
            words = bytes(z["words"]).decode("utf-8").split("\n")
            freq = z["freq"].tolist()
            total = int(z["total"])
    except Exception:  # missing, truncated or not ours: jieba's own loading instead
        return None
    if len(words) != len(freq) or any(a >= b for a, b in pairwise(words[:101])):
        return None  # not a sorted copy
    return _Frequencies(words, freq), total


def _write(path: Path, freq: dict[str, int], total: int) -> None:
    from nksim._io import write_bytes_atomic

    if any("\n" in w for w in freq):  # pragma: no cover - not in jieba's dictionary
        return
    words = sorted(freq)
    buf = io.BytesIO()
    np.savez(buf, words=np.frombuffer("\n".join(words).encode("utf-8"), np.uint8),
             freq=np.array([freq[w] for w in words], np.int64), total=np.int64(total))
    with contextlib.suppress(OSError):  # a read-only cache: jieba's own loading each time
        write_bytes_atomic(path, buf.getvalue())
