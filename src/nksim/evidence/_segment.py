"""jieba word segmentation, loaded in a fraction of the time.

jieba keeps its prefix dictionary (about 500,000 words and word prefixes with their
frequencies) as a ``marshal`` file and reads it back in every process: 0.6-0.8 s on the
development machine, most of the time of a first Chinese check with a negator before a
match. nksim keeps a copy in its cache folder (:func:`~nksim._io.cache_dir`) as one block
of text and one array of frequencies, which reads back in about 0.2 s. It is the same
dictionary, so the segmentation is the same (a test compares the two dictionaries and the
words of sample texts). The copy is made from jieba's own dictionary the first time, and
is named by jieba's version and the size and time of its ``dict.txt``: a new jieba makes
a new copy. An unreadable copy is ignored (jieba's own loading is used, and the copy made
again).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np


@lru_cache(maxsize=1)
def jieba() -> Any:
    """The ``jieba`` module, its default dictionary loaded (from nksim's copy if there is
    one)."""
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


def _copy_path(jb: Any) -> Path:
    from nksim._io import cache_dir

    source = os.stat(os.path.join(os.path.dirname(jb.__file__), "dict.txt"))
    name = f"jieba-{jb.__version__}-{source.st_size}-{int(source.st_mtime)}.npz"
    return cache_dir() / "jieba" / name


def _read(path: Path) -> tuple[dict[str, int], int] | None:
    try:
        with np.load(path) as z:
            words = bytes(z["words"]).decode("utf-8").split("\n")
            freq = z["freq"].tolist()
            total = int(z["total"])
    except Exception:  # missing, truncated or not ours: jieba's own loading instead
        return None
    return (dict(zip(words, freq, strict=True)), total) if len(words) == len(freq) else None


def _write(path: Path, freq: dict[str, int], total: int) -> None:
    from nksim._io import write_bytes_atomic

    if any("\n" in w for w in freq):  # pragma: no cover - not in jieba's dictionary
        return
    buf = io.BytesIO()
    np.savez(buf, words=np.frombuffer("\n".join(freq).encode("utf-8"), np.uint8),
             freq=np.fromiter(freq.values(), np.int64, len(freq)), total=np.int64(total))
    with contextlib.suppress(OSError):  # a read-only cache: jieba's own loading each time
        write_bytes_atomic(path, buf.getvalue())
