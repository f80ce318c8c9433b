"""The shared unit registry."""

from __future__ import annotations

import pytest

from nksim.units import registry


def test_registry_without_a_usable_cache_folder_still_works(tmp_path, monkeypatch):
    """The parsed-definitions cache is an optimisation: a cache folder that cannot be
    created (here: a file stands in its way) gives a working registry, not an error."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("NKSIM_CACHE_DIR", str(blocker))
    reg = registry.__wrapped__()
    assert reg.Quantity(1, "cell/uL").to("cell/L").magnitude == pytest.approx(1e6)


def test_registry_caches_its_parsed_definitions(tmp_path, monkeypatch):
    monkeypatch.setenv("NKSIM_CACHE_DIR", str(tmp_path))
    first = registry.__wrapped__()
    assert any((tmp_path / "pint").iterdir())
    again = registry.__wrapped__()  # built from the cache: the same units
    for reg in (first, again):
        assert reg.Quantity(2, "day").to("hour").magnitude == pytest.approx(48)
        assert reg.Quantity(1, "drug_unit").dimensionality == {"[drug_amount]": 1}
