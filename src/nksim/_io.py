"""Atomic file output: a reader never sees a half-written file or directory."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder whose files appear in ``path`` only if the block succeeds.

    Files are written into a hidden sibling folder; on success each one is moved
    into ``path`` (created if needed) with an atomic rename. On any error the
    staging folder is deleted and ``path`` is left exactly as it was (not created
    if it did not exist).
    """
    target = Path(path).absolute()
    existing = next(p for p in target.parents if p.is_dir())  # stage on the same filesystem
    staging = Path(tempfile.mkdtemp(dir=existing, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield staging
        target.mkdir(parents=True, exist_ok=True)
        for item in staging.rglob("*"):
            dest = target / item.relative_to(staging)
            if item.is_dir():
                dest.mkdir(exist_ok=True)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(item, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
