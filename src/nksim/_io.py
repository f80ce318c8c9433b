"""Atomic file output: a reader never sees a half-written file or directory, and an output
folder is replaced as a whole (never a mix of files from different runs)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path


def missing_file(path: Path) -> str:
    """Why ``path`` cannot be read as an input file (it is not a regular file)."""
    if path.is_dir():
        return f"is a folder, not a file: {path}"
    if path.exists():
        return f"not a regular file: {path}"
    return f"file not found: {path}"


def cache_dir() -> Path:
    """nksim's cache folder (compiled models, parsed unit definitions, article results, a
    copy of jieba's dictionary):
    ``$NKSIM_CACHE_DIR`` or the platform's user cache folder."""
    env = os.environ.get("NKSIM_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("nksim"))


def cache_writable() -> bool:
    """Whether files can be written in nksim's cache folder (or made where it would be):
    tried in it, or in the nearest folder above it that exists (:func:`_cannot_create_in`)."""
    folder = cache_dir()
    for parent in (folder, *folder.parents):
        if parent.exists():
            return parent.is_dir() and _cannot_create_in(parent) is None
    return False


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


#: Marker file in every output folder nksim writes: only such folders (or empty ones) are
#: ever replaced, so ``--out ~`` cannot wipe a folder nksim did not make.
MARKER = ".nksim-output"
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")


#: the longest output folder name (bytes): its hidden staging and partial siblings add ~30
MAX_NAME_BYTES = 200


def check_output_dir(path: str | os.PathLike | None, *, option: str = "--out",
                     inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Check an output folder before any computation; a one-line :class:`UserError` if it
    cannot be written: empty name, a name too long, a link, an existing file,
    the current folder or one above it, a folder nksim did not write that is not empty, a
    parent that is not a folder or not writable, or a folder holding one of the command's
    ``inputs`` (the folder is replaced as a whole: the input would be deleted)."""
    from nksim.errors import UserError

    if path is None or str(path).strip() == "":
        raise UserError("must name a folder (got '')", field=option)
    try:
        target = _check_output_dir(Path(path), option)
        real = target.resolve()
        for item in inputs:
            if item is not None and real in Path(item).resolve().parents:
                raise UserError(f"holds the input {str(item)!r}; the folder is replaced as a "
                                f"whole, which would delete it: move the input or choose "
                                f"another folder (got {str(path)!r})", field=option)
        return target
    except OSError as exc:  # e.g. a folder name longer than the filesystem allows
        raise UserError(f"cannot use this path ({exc.strerror or type(exc).__name__}) "
                        f"(got {str(path)!r})", field=option) from None


def check_output_file(path: str | os.PathLike | None, *, option: str = "--output") -> Path:
    """Check an output file before any computation (it is written atomically, replacing a
    regular file of that name); a one-line :class:`UserError` for an empty name, a folder,
    a link, a device or other non-regular file, a parent that is not a folder, or a place
    where nothing can be written."""
    from nksim.errors import UserError

    if path is None or str(path).strip() == "":
        raise UserError("must name a file (got '')", field=option)
    target = Path(path).absolute()
    try:
        if target.is_symlink():
            raise UserError(f"is a link; give the file itself (got {str(path)!r})",
                            field=option)
        if target.exists() and not target.is_file():
            kind = "a folder" if target.is_dir() else "a device or other special file"
            raise UserError(f"is {kind}, not a file to write (got {str(path)!r})",
                            field=option)
        parent = target.parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise UserError(f"{parent} is not a folder (got {str(path)!r})", field=option)
        problem = _cannot_create_in(parent)
    except OSError as exc:  # e.g. a name longer than the filesystem allows
        problem = exc.strerror or type(exc).__name__
    if problem:
        raise UserError(f"cannot write there ({problem}) (got {str(path)!r})", field=option)
    return target


def _check_output_dir(path: Path, option: str) -> Path:
    from nksim.errors import UserError

    target = path.absolute()
    if len(target.name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise UserError(f"the folder name is longer than {MAX_NAME_BYTES} bytes "
                        f"(got {str(path)[:60]!r}...)", field=option)
    if target.is_symlink():  # it would be replaced by a folder: nothing would reach its target
        where = "nothing" if not target.exists() else repr(str(target.resolve()))
        raise UserError(f"is a link (to {where}); give the folder itself (got {str(path)!r})",
                        field=option)
    cwd = Path.cwd().resolve()
    real = target.resolve()  # ".." and links collapsed, as the current folder is
    if real == cwd or real in cwd.parents:
        raise UserError(f"is the current folder or contains it; it would be replaced as a "
                        f"whole: choose a new folder (got {str(path)!r})", field=option)
    if _is_other_than_folder(target):
        raise UserError(f"is an existing file, not a folder (got {str(path)!r})", field=option)
    if _foreign(target):
        raise UserError(f"is a folder that nksim did not write and that is not empty; "
                        f"choose a new folder (got {str(path)!r})", field=option)
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UserError(f"{parent} is not a folder (got {str(path)!r})", field=option)
    if not os.access(parent, os.W_OK | os.X_OK) or _unwritable_folder(target):
        raise UserError(f"cannot write there (read-only place) (got {str(path)!r})",
                        field=option)
    problem = _cannot_create_in(parent)
    if problem:
        raise UserError(f"cannot write there (read-only place; {problem}) (got {str(path)!r})",
                        field=option)
    return target


def _is_other_than_folder(path: Path) -> bool:
    """Whether ``path`` is something other than a folder, read in one look: between two
    (``exists``, then ``is_dir``) another nksim run may move its folder aside."""
    try:
        return not stat.S_ISDIR(path.stat().st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _unwritable_folder(path: Path) -> bool:
    """Whether ``path`` is a folder this process cannot write in, looked at twice: another
    nksim run may move its folder aside between ``is_dir`` and ``os.access`` (the second
    look then sees the folder that took its place, or none)."""
    return all(path.is_dir() and not os.access(path, os.W_OK | os.X_OK) for _ in range(2))


def _cannot_create_in(folder: Path) -> str | None:
    """Why no folder can be made in ``folder`` (``os.access`` says yes to root in /proc or
    on a read-only filesystem), or None when one can."""
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".nksim-probe-"))
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _foreign(target: Path) -> bool:
    """A non-empty folder without nksim's marker. Checked twice: a concurrent nksim run
    may be swapping its folder in between the listing and the marker check."""
    for _ in range(2):
        if not (target.is_dir() and _nonempty(target) and not (target / MARKER).is_file()):
            return False
        time.sleep(0.01)
    return True


def _nonempty(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except FileNotFoundError:  # replaced by a concurrent run meanwhile
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(target: Path) -> list[Path]:
    """Remove staging folders of ``target`` left by runs that were killed (their process
    is gone); returns what was removed."""
    removed = []
    if not target.parent.is_dir():
        return removed
    for item in target.parent.iterdir():
        m = _STAGING.match(item.name)
        if m and m["name"] == target.name and item.is_dir() and \
                int(m["pid"]) != os.getpid() and not _pid_alive(int(m["pid"])):
            shutil.rmtree(item, ignore_errors=True)
            removed.append(item)
    return removed


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder that replaces ``path`` as a whole if the block succeeds.

    Files are written into a hidden sibling folder (``.NAME.staging-PID-XXXX.tmp``); on
    success the old ``path`` (if any; it must be empty or written by nksim) is renamed
    aside and the staging folder renamed to ``path``, so the folder holds the files of one
    run only. On any error the staging folder is deleted and ``path`` is left exactly as it
    was (not created if it did not exist). Staging folders left by a killed run are removed
    by the next run into the same place.
    """
    target = check_output_dir(path)
    missing = [p for p in target.parents if not p.is_dir()]  # deepest first
    target.parent.mkdir(parents=True, exist_ok=True)  # stage on the same filesystem
    clean_stale_staging(target)
    pid = os.getpid()
    staging = Path(tempfile.mkdtemp(dir=target.parent,
                                    prefix=f".{target.name}.staging-{pid}-", suffix=".tmp"))
    created = missing
    try:
        yield staging
        (staging / MARKER).write_text("written by nksim; this folder is replaced as a whole "
                                      "by the next run into it\n", encoding="utf-8")
        os.chmod(staging, 0o777 & ~_umask())
        old = Path(tempfile.mkdtemp(dir=target.parent,
                                    prefix=f".{target.name}.old-{pid}-", suffix=".tmp"))
        try:
            attempts = 200  # another run may put its folder there meanwhile
            for attempt in range(attempts):
                if target.exists():
                    with contextlib.suppress(FileNotFoundError, OSError):
                        os.replace(target, old / f"previous-{attempt}")
                try:
                    os.replace(staging, target)
                    break
                except OSError:  # the target reappeared (a concurrent run): again
                    if attempt == attempts - 1:
                        raise
                    time.sleep(random.uniform(0.0, 0.005))  # let the other run finish
        finally:
            shutil.rmtree(old, ignore_errors=True)
        created = []
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # parents made for a run that failed
            with contextlib.suppress(OSError):
                folder.rmdir()
