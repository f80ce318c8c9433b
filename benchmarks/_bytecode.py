"""Writing nksim's bytecode before a benchmark times new processes."""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_bytecode() -> None:
    """Write nksim's bytecode first, as installing a package does: a process that may not
    write it (``PYTHONDONTWRITEBYTECODE``, set on some machines) would otherwise compile
    every changed module from source at each start, and that would be timed."""
    import nksim

    compileall.compile_dir(Path(nksim.__file__).parent, quiet=1)
