"""The vectorised per-patient streams (issue 13 §3): the same numbers as NumPy's own
SeedSequence -> PCG64 -> Generator per patient, which is the definition."""

from __future__ import annotations

import numpy as np
import pytest

from nksim.population import lognormal_parameters, patient_normals, patient_rng


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**33 + 5, 2**70 + 3])
@pytest.mark.parametrize("stream", [0, 3, 2**32 - 1])
def test_patient_normals_are_numpys_streams(seed, stream):
    idx = np.concatenate([np.arange(20), [1000, 65537, 12345678, 2**31, 2**32 - 1]])
    expected = np.array([patient_rng(seed, int(i), stream).standard_normal(7) for i in idx])
    assert np.array_equal(patient_normals(seed, idx, stream, 7), expected)


def test_patient_normals_outside_the_fast_path_and_bad_seeds():
    idx = np.array([2**32, 2**40 + 1])  # two words of entropy per index: NumPy's own path
    expected = np.array([patient_rng(5, int(i), 0).standard_normal(3) for i in idx])
    assert np.array_equal(patient_normals(5, idx, 0, 3), expected)
    assert patient_normals(5, np.arange(0), 0, 3).shape == (0, 3)
    with pytest.raises(ValueError):  # as NumPy's SeedSequence
        patient_normals(-1, np.arange(3), 0, 3)


def test_lognormal_parameters_draw_each_patients_own_stream():
    from nksim.library import get_model

    model = get_model("depillis2006")
    typical = model.parameter_vector()
    got = lognormal_parameters(model, 300, 11, 0.2)
    z = np.array([patient_rng(11, i).standard_normal(typical.size) for i in range(300)])
    assert np.array_equal(got, typical * np.exp(0.2 * z))  # patient 9's values within bounds
    assert np.array_equal(lognormal_parameters(model, 40, 11, 0.2), got[:40])
