"""Shared test settings: a project-local cache for generated model code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Generated model code and numba's cache of it live in one folder for the whole run
# (and between runs), outside the user's cache.
os.environ.setdefault("NKSIM_CACHE_DIR", str(ROOT / ".nksim-cache"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project; tests that need it skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA
